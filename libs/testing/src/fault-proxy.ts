import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP proxy in front of DynamoDB (Local) that answers a seeded, deterministic fraction of requests with
 * DynamoDB's own error responses instead of forwarding them, so the SDK's retry and the applier's error policy
 * meet the errors they would meet in AWS. Test helper only.
 * Error shapes: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
 */

export type InjectedFault = 'throttling' | 'provisioned-throughput' | 'internal-error';

export const ALL_FAULTS: readonly InjectedFault[] = [
  'throttling',
  'provisioned-throughput',
  'internal-error',
];

/** The response DynamoDB gives for each fault: awsJson1_0 error, `__type` names the exception. */
export function faultResponse(kind: InjectedFault): { status: number; body: string } {
  const shape = (status: number, type: string, message: string) => ({
    status,
    body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }),
  });
  switch (kind) {
    case 'throttling':
      return shape(400, 'ThrottlingException', 'Rate of requests exceeds the allowed throughput. (injected)');
    case 'provisioned-throughput':
      return shape(
        400,
        'ProvisionedThroughputExceededException',
        'The level of configured provisioned throughput for the table was exceeded. (injected)',
      );
    case 'internal-error':
      return shape(500, 'InternalServerError', 'Internal server error (injected)');
  }
}

/** mulberry32: a tiny seeded PRNG, so a failing run can be replayed with the same fault sequence. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Pure: the fault (or none) for each successive request. The same seed, rate and kinds give the same sequence.
 */
export function faultSequence(
  seed: number,
  rate: number,
  kinds: readonly InjectedFault[] = ALL_FAULTS,
): () => InjectedFault | undefined {
  if (rate < 0 || rate > 1) throw new Error(`fault rate ${rate} is not between 0 and 1`);
  if (kinds.length === 0) throw new Error('no fault kinds to inject');
  const random = mulberry32(seed);
  return () => {
    const fault = random() < rate;
    const kind = kinds[Math.floor(random() * kinds.length)] as InjectedFault;
    return fault ? kind : undefined;
  };
}

export interface FaultProxyOptions {
  /** The real endpoint, e.g. http://127.0.0.1:8000. */
  readonly target: string;
  /** Fraction of requests answered with a fault, 0..1. */
  readonly rate: number;
  readonly seed?: number;
  readonly kinds?: readonly InjectedFault[];
  /** Only these operations (PutItem, ...) get faults; unset: every request. */
  readonly operations?: readonly string[];
}

export interface FaultProxy {
  readonly endpoint: string;
  /** Requests forwarded to the target, and faults answered instead: by kind, and by operation (PutItem...). */
  readonly counts: {
    forwarded: number;
    injected: Record<InjectedFault, number>;
    injectedByOperation: Record<string, number>;
  };
  injectedTotal(): number;
  /** Changes the fault rate from the next request on (0: forward everything, 1: fail every matching one). */
  setRate(rate: number): void;
  close(): Promise<void>;
}

/** Starts the proxy on a free 127.0.0.1 port. */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(opts.target);
  let next = faultSequence(opts.seed ?? 1, opts.rate, opts.kinds);
  const counts = {
    forwarded: 0,
    injected: { throttling: 0, 'provisioned-throughput': 0, 'internal-error': 0 },
    injectedByOperation: {} as Record<string, number>,
  };

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers, // unchanged, Host included: the SDK signed them
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    // The target is down or dropped the connection: drop ours too, as a dead endpoint would look to the SDK.
    upstream.once('error', () => res.destroy());
    req.pipe(upstream);
  };

  let seq = 0;
  const server = createServer((req, res) => {
    const id = ++seq;
    // X-Amz-Target: DynamoDB_20120810.PutItem
    const operation = String(req.headers['x-amz-target'] ?? 'unknown').replace(/^.*\./, '');
    const fault = !opts.operations || opts.operations.includes(operation) ? next() : undefined;
    if (!fault) {
      counts.forwarded++;
      forward(req, res);
      return;
    }
    counts.injected[fault]++;
    counts.injectedByOperation[operation] = (counts.injectedByOperation[operation] ?? 0) + 1;
    const { status, body } = faultResponse(fault);
    req.resume(); // read the request body to the end before answering
    req.once('end', () => {
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': Buffer.byteLength(body),
        'x-amzn-requestid': `injected-${id}`,
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    injectedTotal: () => Object.values(counts.injected).reduce((a, b) => a + b, 0),
    setRate: (rate) => (next = faultSequence(opts.seed ?? 1, rate, opts.kinds)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
