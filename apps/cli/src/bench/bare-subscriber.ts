import { type ChildProcess, spawn } from 'node:child_process';
import { exited, killOnExit } from '@cdc/stack';

/**
 * The cheapest possible notification consumer, for the capture bench's floor phase: a raw socket that sends
 * PSUBSCRIBE on capture's channels and then only counts the bytes Redis pushes (no RESP parsing, no reads, no
 * Kafka), pacing its socket reads the way capture does. The writer's rate beside it is what Redis' own cost of publishing notifications, plus draining them
 * off the socket, leaves: the ceiling of any capture driven by keyspace notifications on that box.
 *
 * It runs as a child process (so it does not share the writer's event loop) from inline source that needs only
 * Node's core modules, so it works from the bundled CLI and from the sources alike.
 */
const SOURCE = `
const net = require('node:net');
const tls = require('node:tls');
const u = new URL(process.env.CDC_BENCH_REDIS_URL);
const db = Number(process.env.CDC_BENCH_REDIS_DB || 0);
const at = { host: u.hostname, port: Number(u.port || 6379) };
const sock = u.protocol === 'rediss:' ? tls.connect({ ...at, servername: u.hostname }) : net.connect(at);
const cmd = (...a) => '*' + a.length + '\\r\\n' + a.map((s) => '$' + Buffer.byteLength(s) + '\\r\\n' + s + '\\r\\n').join('');
let out = '';
const user = decodeURIComponent(u.username), pass = decodeURIComponent(u.password);
if (pass) out += user ? cmd('AUTH', user, pass) : cmd('AUTH', pass);
out += cmd('PSUBSCRIBE', '__keyevent@' + db + '__:*');
sock.write(out);
const pauseMs = Number(process.env.CDC_BENCH_PAUSE_MS || 0);
let bytes = 0;
let ready = false;
sock.on('data', (d) => {
  bytes += d.length;
  if (pauseMs > 0 && !sock.isPaused()) { sock.pause(); setTimeout(() => sock.resume(), pauseMs); }
  if (ready) return;
  const s = d.toString('latin1');
  if (s.startsWith('-') || s.includes('\\r\\n-')) { process.stderr.write('redis: ' + s); process.exit(2); }
  if (s.includes('psubscribe')) { ready = true; process.stdout.write('ready\\n'); }
});
sock.on('error', (e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });
sock.on('close', () => process.exit(3));
process.on('SIGTERM', () => { process.stdout.write(JSON.stringify({ bytes }) + '\\n'); process.exit(0); });
`;

export interface BareSubscriber {
  readonly pid: number | undefined;
  /** Stops it; returns the bytes of notifications it received. */
  stop(): Promise<number>;
  /** Synchronous, for an interrupted run. */
  kill(): void;
}

/** `pauseMs`: pause after each chunk read, as capture paces its reads (CDC_CAPTURE_NOTIFY_PAUSE_MS). */
export async function startBareSubscriber(
  redisUrl: string,
  db: number,
  pauseMs: number,
  readyTimeoutMs = 10_000,
): Promise<BareSubscriber> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SOURCE], {
    env: {
      ...process.env,
      CDC_BENCH_REDIS_URL: redisUrl,
      CDC_BENCH_REDIS_DB: String(db),
      CDC_BENCH_PAUSE_MS: String(pauseMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  const done = exited(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), readyTimeoutMs);
    const check = () => {
      if (stdout.includes('ready\n')) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout?.on('data', check);
    void done.then(() => {
      clearTimeout(timer);
      resolve(stdout.includes('ready\n'));
    });
  });
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(
      `the bench's bare notification subscriber did not subscribe to ${redisUrl} within ${readyTimeoutMs} ms` +
        (stderr ? `: ${stderr.trim()}` : ''),
    );
  }
  return {
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await done;
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        return Number((JSON.parse(last) as { bytes?: number }).bytes ?? 0);
      } catch {
        return 0;
      }
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}
