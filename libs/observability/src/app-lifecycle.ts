import type { Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { CdcConfig } from '@cdc/config';
import type { Logger } from './logger';
import { EXIT_CODES, listenError, runStartupChecks, type StartupCheck } from './startup';

export interface StartOptions {
  readonly port: number;
  readonly host: string;
  readonly checks: readonly StartupCheck[];
  readonly config: CdcConfig;
  readonly logger: Logger;
}

/**
 * The boot order every deployable and `cdc run` share: bind the HTTP port first, so a second instance fails
 * there before it subscribes or joins a consumer group (and forces a rebalance of the running one); then check
 * each dependency in its own step; then start the modules (their onApplicationBootstrap connects, subscribes,
 * joins). Until the modules have started, /health answers 503 with the step under way.
 */
export async function startApp(app: INestApplication, o: StartOptions): Promise<void> {
  let step = 'binding the HTTP port';
  let started = false;
  app.use(
    (
      req: { url?: string },
      res: { statusCode: number; setHeader(k: string, v: string): void; end(body: string): void },
      next: () => void,
    ) => {
      if (started || req.url?.split('?')[0] !== '/health') return next();
      res.statusCode = 503;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'starting', step }));
    },
  );
  await listen(app.getHttpServer() as Server, o.port, o.host);
  await runStartupChecks(o.checks, o.config, o.logger, (name) => (step = `checking ${name}`));
  step = 'starting the modules';
  await app.init();
  started = true;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, host, port));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

const HOOKS = ['onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown'] as const;

/**
 * Wraps every provider's and controller's shutdown hooks so that a shutdown past its deadline can say which
 * ones were still running ("ApplierService.onApplicationShutdown"). Returns the names of those running now.
 */
function trackShutdownHooks(app: INestApplication): () => string[] {
  const running = new Set<string>();
  const modules = app.get(ModulesContainer, { strict: false });
  const seen = new Set<object>();
  for (const mod of modules.values()) {
    for (const wrapper of [...mod.providers.values(), ...mod.controllers.values()]) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || seen.has(instance)) continue;
      seen.add(instance);
      for (const hook of HOOKS) {
        const original = instance[hook];
        if (typeof original !== 'function') continue;
        const label = `${instance.constructor.name}.${hook}`;
        const call = original as (...a: unknown[]) => unknown;
        instance[hook] = async (...args: unknown[]): Promise<unknown> => {
          running.add(label);
          try {
            return await call.apply(instance, args);
          } finally {
            running.delete(label);
          }
        };
      }
    }
  }
  return () => [...running];
}

/**
 * Closes the app (Nest's shutdown hooks drain and disconnect) within `timeoutMs`, and returns the exit status:
 * 0 drained, 1 a hook failed, EXIT_CODES.shutdownDeadline when the deadline passed, after a log line naming
 * what was still running. The caller exits with it: a client still reconnecting must not keep the process up.
 */
export async function closeWithin(app: INestApplication, log: Logger, timeoutMs: number): Promise<number> {
  const running = trackShutdownHooks(app);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>(
    (resolve) => (timer = setTimeout(() => resolve('deadline'), timeoutMs)),
  );
  const closed = app.close().then(
    () => 'drained' as const,
    (err: unknown) => {
      log.error({ err }, `shutdown failed: ${(err as Error).message}`);
      return 'failed' as const;
    },
  );
  const outcome = await Promise.race([closed, deadline]);
  clearTimeout(timer);
  if (outcome === 'drained') return 0;
  if (outcome === 'failed') return 1;
  const waitingFor = running();
  log.error(
    { waitingFor, timeoutMs },
    `shutdown deadline of ${timeoutMs} ms (CDC_SHUTDOWN_TIMEOUT_MS) passed; still waiting for ` +
      `${waitingFor.length ? waitingFor.join(', ') : 'the HTTP server to close'}; exiting ${EXIT_CODES.shutdownDeadline} ` +
      '(nothing committed is lost: uncommitted events are consumed again, capture rescans at its next start)',
  );
  return EXIT_CODES.shutdownDeadline;
}

/**
 * Calls `handler` on the first SIGTERM or SIGINT, then restores the default: a second signal ends the process
 * at once.
 */
export function onFirstSignal(handler: (signal: NodeJS.Signals) => void): void {
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  const listeners = signals.map((signal) => {
    const listener = () => {
      listeners.forEach(([s, l]) => process.off(s, l));
      handler(signal);
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
}
