import type { CdcConfig } from '@cdc/config';
import type { Logger } from './logger';

/** Exit statuses of the deployables and `cdc run` (the table in docs/operations.md). */
export const EXIT_CODES = {
  /** A variable is missing or invalid (sysexits EX_CONFIG). */
  config: 78,
  /** A dependency (engine, credentials, the HTTP port) is unavailable at start (sysexits EX_UNAVAILABLE). */
  unavailable: 69,
  /** The drain deadline passed after SIGTERM/SIGINT (sysexits EX_TEMPFAIL: nothing is lost, start it again). */
  shutdownDeadline: 75,
} as const;

/**
 * A dependency that stops the start: which one, where, what went wrong and what to do, in one line
 * ("DynamoDB at http://127.0.0.1:8000: no AWS credentials; …"). `permanent`: retrying cannot help (a rejected
 * password, no credentials), so the start-up check gives up at once.
 */
export class DependencyError extends Error {
  constructor(
    readonly dependency: string,
    readonly endpoint: string,
    readonly problem: string,
    readonly fix: string,
    readonly permanent = false,
  ) {
    super(`${dependency} at ${endpoint}: ${problem}; ${fix}`);
    this.name = 'DependencyError';
  }
}

/** One dependency's check, listed by each app (AppSpec.checks); the adapters export them (preflight.ts). */
export interface StartupCheck {
  /** The dependency, for the log: "Redis", "Kafka", "DynamoDB". */
  readonly name: string;
  /** Resolves once the dependency answers; throws a DependencyError naming it otherwise. */
  run(config: CdcConfig, log: Logger): Promise<void>;
}

/** Waits before attempt n+1 (n ≥ 1): 0.5 s, 1 s, 2 s, 4 s, then every 5 s. */
export const retryDelayMs = (attempt: number): number => Math.min(5_000, 500 * 2 ** (attempt - 1));

/**
 * Runs `probe` until it succeeds, a permanent DependencyError, or `timeoutMs` (one more attempt would end past
 * it). Each failed attempt is one log line naming the dependency, the endpoint and the error; the last error is
 * thrown with the number of attempts.
 */
export async function retryDependency(
  probe: () => Promise<void>,
  opts: { timeoutMs: number; log: Logger; sleep?: (ms: number) => Promise<void> },
): Promise<void> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await probe();
      return;
    } catch (err) {
      if (!(err instanceof DependencyError)) throw err;
      const wait = retryDelayMs(attempt);
      const elapsed = Date.now() - started;
      if (err.permanent || elapsed + wait > opts.timeoutMs) {
        if (attempt === 1) throw err;
        throw new DependencyError(
          err.dependency,
          err.endpoint,
          `${err.problem} (${attempt} attempts in ${Math.round(elapsed / 1000)} s)`,
          err.fix,
          err.permanent,
        );
      }
      opts.log.warn(
        { dependency: err.dependency, endpoint: err.endpoint, attempt, err: err.problem },
        `${err.dependency} at ${err.endpoint}: ${err.problem}; attempt ${attempt}, retrying in ${wait} ms`,
      );
      await sleep(wait);
    }
  }
}

/** Runs the app's checks one after the other, each logged; the first failure is thrown as it is. */
export async function runStartupChecks(
  checks: readonly StartupCheck[],
  config: CdcConfig,
  log: Logger,
  onStep: (name: string) => void = () => undefined,
): Promise<void> {
  for (const check of checks) {
    onStep(check.name);
    const t0 = Date.now();
    await check.run(config, log);
    log.info({ dependency: check.name, ms: Date.now() - t0 }, `${check.name} answers`);
  }
}

/** What an error thrown while binding the HTTP port means, as a DependencyError. */
export function listenError(err: NodeJS.ErrnoException, host: string, port: number): DependencyError {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE')
    return new DependencyError(
      'HTTP server',
      where,
      'the port is already in use (EADDRINUSE): another process listens there (a second `cdc run` or app?)',
      'stop that process, or set HTTP_PORT to a free port',
      true,
    );
  if (err.code === 'EACCES')
    return new DependencyError(
      'HTTP server',
      where,
      'permission denied (EACCES)',
      'ports below 1024 need privileges: set HTTP_PORT above 1023',
      true,
    );
  if (err.code === 'EADDRNOTAVAIL')
    return new DependencyError(
      'HTTP server',
      where,
      `no such local address (EADDRNOTAVAIL)`,
      'listen on an address of this host',
      true,
    );
  return new DependencyError('HTTP server', where, err.message, 'set HTTP_PORT to a free port', true);
}
