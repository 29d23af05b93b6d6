import { type ChildProcess, spawn } from 'node:child_process';
import { redactUrl } from '@cdc/config';
import { killOnExit } from '@cdc/stack';

/**
 * The cheapest possible notification consumer, for the capture bench's floor phase: a raw socket that sends
 * PSUBSCRIBE on capture's channels and then only counts the bytes Redis pushes (no RESP parsing, no reads, no
 * Kafka), pacing its socket reads the way capture's KeyeventSubscriber does (libs/redis/src/notifications.ts:
 * pause after a chunk, then every `pauseMs` take everything buffered at once, flow again when nothing is).
 * The writer's rate beside it is what publishing the notifications and draining them off a socket leave: the
 * ceiling of any capture driven by keyspace notifications on that box.
 *
 * It runs as a child process (so it does not share the writer's event loop) from inline source that needs only
 * Node's core modules, so it works from the bundled CLI and from the sources alike. Plain `redis://` and
 * `rediss://` URLs with an optional password; the database is the `db` argument.
 */
const SOURCE = `
const net = require('node:net');
const tls = require('node:tls');
const u = new URL(process.env.CDC_BENCH_REDIS_URL);
const db = Number(process.env.CDC_BENCH_REDIS_DB || 0);
const pauseMs = Number(process.env.CDC_BENCH_PAUSE_MS || 0);
const at = { host: u.hostname.replace(/^\\[|\\]$/g, ''), port: Number(u.port || 6379) };
const sock = u.protocol === 'rediss:' ? tls.connect({ ...at, servername: at.host }) : net.connect(at);
if (pauseMs > 0) sock._readableState.highWaterMark = 1; // as capture's subscriber: stop reading while paused
const cmd = (...a) => '*' + a.length + '\\r\\n' + a.map((s) => '$' + Buffer.byteLength(s) + '\\r\\n' + s + '\\r\\n').join('');
const user = decodeURIComponent(u.username);
const pass = decodeURIComponent(u.password);
sock.write((pass ? (user ? cmd('AUTH', user, pass) : cmd('AUTH', pass)) : '') + cmd('PSUBSCRIBE', '__keyevent@' + db + '__:*'));
let bytes = 0;
let head = '';
const release = () => setTimeout(() => {
  if (sock.readableLength > 0) { sock.read(); release(); } else sock.resume();
}, pauseMs);
sock.on('data', (d) => {
  bytes += d.length;
  if (head !== null) {
    head += d.toString('latin1');
    if (head.startsWith('-') || head.startsWith('+OK\\r\\n-')) { process.stderr.write('redis: ' + head.split('\\r\\n').find((l) => l.startsWith('-')) + '\\n'); process.exit(2); }
    if (head.includes('psubscribe')) { head = null; process.stdout.write('ready\\n'); }
  }
  if (pauseMs > 0 && !sock.isPaused()) { sock.pause(); release(); }
});
sock.on('error', (e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });
sock.on('close', () => { process.stderr.write('redis closed the connection\\n'); process.exit(3); });
process.on('SIGTERM', () => { process.stdout.write(JSON.stringify({ bytes }) + '\\n'); process.exit(0); });
`;

export interface BareSubscriber {
  readonly pid: number | undefined;
  /** Stops it; returns the bytes of notifications it received. Rejects if it had stopped on its own. */
  stop(): Promise<number>;
  /** Synchronous, for an interrupted run. */
  kill(): void;
}

/** `pauseMs`: its read pacing, as capture's (CDC_CAPTURE_NOTIFY_PAUSE_MS); 0 reads on every wakeup. */
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
  let stdout = '';
  let stderr = '';
  let stopping = false;
  let diedEarly = false;
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'close', not 'exit': by then its stdout and stderr have been read to the end.
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), readyTimeoutMs);
    child.stdout?.on('data', () => {
      if (stdout.includes('ready\n')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    void closed.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  const why = () => (stderr.trim() ? `: ${stderr.trim()}` : '');
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(
      `the bench's bare notification subscriber did not subscribe to ${redactUrl(redisUrl)} within ` +
        `${readyTimeoutMs} ms${why()}`,
    );
  }
  void closed.then(() => (diedEarly = !stopping));
  return {
    pid: child.pid,
    async stop() {
      stopping = true;
      child.kill('SIGTERM');
      await closed;
      const last = stdout.trim().split('\n').pop() ?? '';
      const bytes = /^\{"bytes":\d+\}$/.test(last)
        ? (JSON.parse(last) as { bytes: number }).bytes
        : undefined;
      if (diedEarly || bytes === undefined)
        throw new Error(
          `the bench's bare notification subscriber stopped before the end of its phase${why()}`,
        );
      return bytes;
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}
