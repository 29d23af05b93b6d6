import { envSchema, type Env } from './schema';

/** A variable the schema defines: the only names a child's environment may be built from. */
export type EnvName = keyof Env;
export type EnvValue = string | number | boolean | readonly string[];
/** Typed settings keyed by the schema's own names, so a misspelt variable is a compile error. */
export type EnvSettings = { readonly [K in EnvName]?: EnvValue };

/** Every name the schema defines, in schema order. */
export const ENV_NAMES: readonly EnvName[] = Object.keys(envSchema.innerType().shape) as EnvName[];

/**
 * Variables from typed settings: numbers and booleans as text, lists comma-joined (KAFKA_BROKERS), unset
 * (undefined) ones left out. Pure.
 */
export function toEnv(settings: EnvSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings) as Array<[EnvName, EnvValue | undefined]>) {
    if (value === undefined) continue;
    env[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}

/**
 * A child process's environment: the parent's, minus every replicator setting the schema defines (so nothing
 * of the parent's configuration leaks in unasked), plus `settings`. The AWS SDK's own chain (credentials,
 * region, profile) is inherited, as the SDK would read it.
 */
export function childEnv(
  settings: EnvSettings,
  parent: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const replicator = new Set<string>(ENV_NAMES.filter((n) => !n.startsWith('AWS_')));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined && !replicator.has(k)) env[k] = v;
  return { ...env, ...toEnv(settings) };
}

/** Sets typed settings on this process's environment (the CLI pointing its own config at a stack). */
export function assignEnv(settings: EnvSettings, target: NodeJS.ProcessEnv = process.env): void {
  Object.assign(target, toEnv(settings));
}

/** DynamoDB Local accepts any credentials made of letters and digits; real ones (and a region) are kept. */
export function localAwsDefaults(env: NodeJS.ProcessEnv = process.env): EnvSettings {
  return {
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY ?? 'local',
    AWS_REGION: env.AWS_REGION ?? 'us-east-1',
  };
}
