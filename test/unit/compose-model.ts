import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { envSchema } from '@cdc/config';

/**
 * What test/unit/compose*.spec.ts read compose files into: the services, their environment, commands, ports and
 * Kafka listeners, the merge of several files (`-f a -f b`, or docker-compose.yml + docker-compose.override.yml)
 * and ${VAR:-default} interpolation, as docker compose (v2) and docker-compose (1.29) do them for these files.
 */

export const ROOT = join(__dirname, '..', '..');

export type Engine = 'redis' | 'kafka' | 'dynamodb';
export type AppName = 'capture' | 'applier' | 'verifier';
/** What each deployable talks to (design.md): the compose services it must wait for. */
export const APP_ENGINES: Record<AppName, readonly Engine[]> = {
  capture: ['redis', 'kafka'],
  applier: ['kafka', 'dynamodb'],
  verifier: ['redis', 'dynamodb'],
};
export const APPS = Object.keys(APP_ENGINES) as AppName[];
export const ENGINES: readonly Engine[] = ['redis', 'kafka', 'dynamodb'];
/** Read by the AWS SDK's default provider chain, deliberately not by the config schema. */
export const SDK_VARIABLES: ReadonlySet<string> = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
export const ENDPOINT_VARIABLES: Record<Engine, string> = {
  redis: 'REDIS_URL',
  kafka: 'KAFKA_BROKERS',
  dynamodb: 'DYNAMODB_ENDPOINT',
};

// ---------------------------------------------------------------------------------------------- compose model

export interface PortObject {
  target?: number | string;
  published?: number | string;
  host_ip?: string;
}
export interface Service {
  image?: string;
  build?:
    | string
    | { context?: string; dockerfile?: string; network?: string; args?: Record<string, unknown> | string[] };
  network_mode?: string;
  networks?: unknown;
  command?: string | unknown[];
  environment?: Record<string, unknown> | string[];
  ports?: Array<string | number | PortObject>;
  depends_on?: string[] | Record<string, { condition?: string } | null>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
}
export interface Compose {
  services: Record<string, Service>;
}

export function loadCompose(text: string): Compose {
  const doc = parse(text) as unknown;
  if (typeof doc !== 'object' || doc === null || typeof (doc as Compose).services !== 'object') {
    throw new Error('docker-compose.yml has no services map');
  }
  return doc as Compose;
}

/** Compose allows scalars only; anything else is kept visible (as JSON) so the schema check rejects it. */
export function scalar(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v === null || v === undefined ? null : JSON.stringify(v);
}

/** `environment:` as a map or as a list of KEY=VALUE; a key without a value (taken from the host) is null. */
export function envOf(svc: Service): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    for (const entry of env) {
      const i = entry.indexOf('=');
      if (i < 0) out[entry] = null;
      else out[entry.slice(0, i)] = entry.slice(i + 1);
    }
  } else {
    for (const [k, v] of Object.entries(env)) out[k] = scalar(v);
  }
  return out;
}

export function commandArgs(svc: Service): string[] {
  const cmd = svc.command;
  if (cmd === undefined || cmd === null) return [];
  if (Array.isArray(cmd)) return cmd.map(String);
  return (String(cmd).match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((a) => a.replace(/^(["'])(.*)\1$/, '$2'));
}

export function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

export interface Published {
  hostIp: string | undefined;
  published: number | undefined;
  target: number;
}
export function publishedPorts(svc: Service): Published[] {
  return (svc.ports ?? []).map((p) => {
    if (typeof p === 'object') {
      return {
        hostIp: p.host_ip,
        published: p.published === undefined ? undefined : Number(p.published),
        target: Number(p.target),
      };
    }
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts.pop());
    const published = parts.length > 0 ? Number(parts.pop()) : undefined;
    return { hostIp: parts.length > 0 ? parts.join(':') : undefined, published, target };
  });
}

export function dependsOn(svc: Service): Record<string, string> {
  const deps = svc.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([d, v]) => [d, v?.condition ?? 'service_started']));
}

export function engineOf(svc: Service | undefined): Engine | undefined {
  const image = svc?.image ?? '';
  // The public images, or the local ones `npm run images` builds (cdc-local/*, libs/stack/src/images).
  if (/^(cdc-local\/|(docker\.io\/)?(library\/)?)redis([:@]|$)/.test(image)) return 'redis';
  if (/^(cdc-local\/|(docker\.io\/)?apache\/)kafka([:@]|$)/.test(image)) return 'kafka';
  if (/^(cdc-local\/|(docker\.io\/)?amazon\/)dynamodb-local([:@]|$)/.test(image)) return 'dynamodb';
  return undefined;
}

export interface Listener {
  name: string;
  host: string;
  port: number;
}
export function kafkaListeners(value: string | null | undefined): Listener[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:/]*):(\d+)$/.exec(s);
      return m
        ? { name: m[1] as string, host: m[2] as string, port: Number(m[3]) }
        : { name: s, host: '', port: NaN };
    });
}

/** Ports an engine service accepts connections on inside the compose network. */
export function listenPorts(svc: Service): number[] {
  const args = commandArgs(svc);
  switch (engineOf(svc)) {
    case 'redis':
      return [Number(flagValue(args, '--port') ?? 6379)];
    case 'dynamodb':
      return [Number(flagValue(args, '-port') ?? 8000)];
    case 'kafka': {
      const env = envOf(svc);
      const controllers = new Set((env.KAFKA_CONTROLLER_LISTENER_NAMES ?? '').split(','));
      return kafkaListeners(env.KAFKA_LISTENERS)
        .filter((l) => !controllers.has(l.name))
        .map((l) => l.port);
    }
    case undefined:
      return [];
  }
}

// ------------------------------------------------------------------------------------------ config schema keys

/** The keys of the object schema under any refinement/transform wrappers (zod 3: superRefine → ZodEffects). */
export function objectSchemaKeys(schema: z.ZodTypeAny): string[] {
  let s: z.ZodTypeAny = schema;
  for (let depth = 0; depth < 16; depth++) {
    if (s instanceof z.ZodObject) return Object.keys(s.shape as Record<string, unknown>);
    if (s instanceof z.ZodEffects) s = s.innerType() as z.ZodTypeAny;
    else if (s instanceof z.ZodPipeline) s = s._def.in as z.ZodTypeAny;
    else if (s instanceof z.ZodBranded) s = s.unwrap() as z.ZodTypeAny;
    else break;
  }
  throw new Error(
    `envSchema does not wrap a z.object (found ${s.constructor.name}); update objectSchemaKeys`,
  );
}
export const SCHEMA_KEYS: ReadonlySet<string> = new Set(objectSchemaKeys(envSchema));

// ----------------------------------------------------------------------------------------------- app sources

export const APP_SOURCE_DIRS = new Set(
  APPS.filter((a) => existsSync(join(ROOT, 'apps', a, 'src', 'main.ts'))),
);
export function appExists(app: string): boolean {
  return /^[a-z0-9-]+$/.test(app) && existsSync(join(ROOT, 'apps', app, 'src', 'main.ts'));
}
/** `defaultPort` and `needs` as declared in apps/<app>/src/main.ts (what runApp checks before starting). */
export function appSpec(app: AppName): { defaultPort: number; needs: Array<'redis' | 'kafka'> } {
  const src = readFileSync(join(ROOT, 'apps', app, 'src', 'main.ts'), 'utf8');
  const port = /defaultPort:\s*(\d+)/.exec(src);
  const needs = /needs:\s*\[([^\]]*)\]/.exec(src);
  if (!port || !needs)
    throw new Error(`apps/${app}/src/main.ts: cannot find defaultPort/needs in its runApp call`);
  return {
    defaultPort: Number(port[1]),
    needs: (needs[1] ?? '').match(/redis|kafka/g) as Array<'redis' | 'kafka'>,
  };
}

// ------------------------------------------------------------------------------------------- merge, variables

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `environment:` in either form, as a map (a merge works key by key on it). */
function envAsMap(env: unknown): Record<string, unknown> {
  if (!Array.isArray(env)) return isMap(env) ? env : {};
  return Object.fromEntries(
    env.map((e) => {
      const entry = String(e);
      const i = entry.indexOf('=');
      return i < 0 ? [entry, null] : [entry.slice(0, i), entry.slice(i + 1)];
    }),
  );
}

function mergeValue(key: string, base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  // Compose appends these (https://docs.docker.com/compose/how-tos/multiple-compose-files/merge/): an override
  // can add a published port but never remove one.
  if (key === 'ports' && Array.isArray(base) && Array.isArray(over)) return [...base, ...over];
  if (key === 'environment') return { ...envAsMap(base), ...envAsMap(over) };
  if (isMap(base) && isMap(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = mergeValue(k, base[k], v);
    return out;
  }
  return over; // scalars and other lists (command, healthcheck.test) are replaced
}

/** `docker compose -f base -f override`: service by service, key by key. */
export function mergeCompose(base: Compose, override: Compose): Compose {
  return mergeValue('', base, override) as Compose;
}

/**
 * Compose's variable substitution for ${NAME}, ${NAME:-default} and ${NAME-default} (and $$ for a literal $),
 * from `vars`. Unset without a default is an error here (compose would put an empty string and warn).
 */
export function interpolate<T>(value: T, vars: Readonly<Record<string, string>>): T {
  const one = (s: string): string =>
    s.replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g,
      (m, name?: string, op?: string, def?: string) => {
        if (m === '$$') return '$';
        const set = vars[name as string];
        if (set !== undefined && (op !== ':-' || set !== '')) return set;
        if (op !== undefined) return def ?? '';
        throw new Error(`variable ${name as string} is not set and has no default`);
      },
    );
  const walk = (v: unknown): unknown =>
    typeof v === 'string'
      ? one(v)
      : Array.isArray(v)
        ? v.map(walk)
        : isMap(v)
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
          : v;
  return walk(value) as T;
}

/** The compose files named (relative to the repository), merged in order, with the given variables. */
export function loadComposeFiles(
  files: readonly string[],
  vars: Readonly<Record<string, string>> = {},
): Compose {
  const docs = files.map((f) => loadCompose(readFileSync(join(ROOT, f), 'utf8')));
  const merged = docs.slice(1).reduce((acc, d) => mergeCompose(acc, d), docs[0] as Compose);
  return interpolate(merged, vars);
}
