import { describe, expect, it } from 'vitest';
import { envSchema, loadConfig } from '@cdc/config';
import { APP_ENGINES, APPS, type AppName, appSpec, SCHEMA_KEYS, SDK_VARIABLES } from './compose-model';
import {
  BASE,
  type Container,
  containerEnv,
  type Deployment,
  deploymentsOf,
  type K8sObject,
  labelsMatch,
  OVERLAYS,
  render,
  relativeToDeploy,
} from './deploy-model';

/**
 * deploy/ (kustomize base + overlays) is never applied to a cluster here; it is kept honest by reading it. Each
 * check is a pure function returning problems, run on every rendered kustomization (must be empty) and on a
 * deliberately broken copy (must name the break), as test/unit/compose.spec.ts does for the compose files.
 */

const TARGETS = [BASE, ...OVERLAYS].map((dir) => ({ name: relativeToDeploy(dir), objects: render(dir) }));

function appOf(d: Deployment): AppName | undefined {
  return APPS.find((a) => d.metadata.name === `cdc-${a}`);
}
function appContainer(d: Deployment): Container | undefined {
  const app = appOf(d);
  return d.spec.template.spec.containers.find((c) => c.name === app);
}
/** The environment the app's container starts with, parsed by the real schema (defaults applied). */
function effectiveEnv(objects: readonly K8sObject[], d: Deployment) {
  const c = appContainer(d);
  if (!c) return undefined;
  const { env } = containerEnv(objects, c);
  return { raw: env, parsed: envSchema.parse(env) };
}

// ---------------------------------------------------------------------------------------------------- checks

function checkApps(objects: readonly K8sObject[]): string[] {
  const deployments = deploymentsOf(objects);
  const problems = APPS.filter((a) => !deployments.some((d) => appOf(d) === a)).map(
    (a) => `Deployment cdc-${a} is missing`,
  );
  for (const d of deployments) {
    if (!appOf(d)) problems.push(`Deployment ${d.metadata.name} is no app (cdc-capture|applier|verifier)`);
    else if (!appContainer(d)) problems.push(`${d.metadata.name}: no container named ${appOf(d)}`);
  }
  return problems;
}

/** Every variable a container gets is one the config schema reads (or the AWS SDK), and the config loads. */
function checkEnv(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const d of deploymentsOf(objects)) {
    const app = appOf(d);
    const c = appContainer(d);
    if (!app || !c) continue;
    const { env, problems: refs } = containerEnv(objects, c);
    problems.push(...refs.map((p) => `${d.metadata.name}: ${p}`));
    for (const k of Object.keys(env)) {
      if (!SCHEMA_KEYS.has(k) && !SDK_VARIABLES.has(k)) {
        problems.push(`${d.metadata.name}: ${k} is neither in the config schema nor an AWS SDK variable`);
      }
    }
    if (env.REDIS_URL !== undefined && !APP_ENGINES[app].includes('redis'))
      problems.push(
        `${d.metadata.name}: gets REDIS_URL, but the ${app} never talks to Redis (keep its password away)`,
      );
    try {
      loadConfig(env).require(...appSpec(app).needs);
    } catch (err) {
      problems.push(`${d.metadata.name}: loadConfig rejects its environment: ${(err as Error).message}`);
    }
  }
  for (const o of objects.filter((x) => x.kind === 'ConfigMap' || x.kind === 'Secret')) {
    const keys = Object.keys({ ...(o.data as object), ...(o.stringData as object) });
    for (const k of keys.filter((key) => !SCHEMA_KEYS.has(key) && !SDK_VARIABLES.has(key))) {
      problems.push(`${o.kind} ${o.metadata.name}: key ${k} is not in the config schema`);
    }
  }
  return problems;
}

function portOf(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** Probes ask /health on the port the app listens on (HTTP_PORT, else its defaultPort in apps/<app>/src/main.ts). */
function checkProbes(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const d of deploymentsOf(objects)) {
    const app = appOf(d);
    const c = appContainer(d);
    const env = effectiveEnv(objects, d);
    if (!app || !c || !env) continue;
    const listens = env.parsed.HTTP_PORT ?? appSpec(app).defaultPort;
    if (!c.ports?.some((p) => p.containerPort === listens)) {
      problems.push(`${d.metadata.name}: declares no containerPort ${listens} (the app listens there)`);
    }
    for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
      const probe = c[kind];
      if (!probe) {
        if (kind !== 'startupProbe') problems.push(`${d.metadata.name}: no ${kind}`);
        continue;
      }
      if (probe.httpGet?.path !== '/health') {
        problems.push(
          `${d.metadata.name}: ${kind} asks ${probe.httpGet?.path ?? 'no HTTP path'}, not /health`,
        );
      }
      const port = portOf(c, probe.httpGet?.port);
      if (port !== listens) {
        problems.push(
          `${d.metadata.name}: ${kind} port ${String(probe.httpGet?.port)} is ${port}, app on ${listens}`,
        );
      }
    }
  }
  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const spec = svc.spec as {
      selector?: Record<string, string>;
      ports?: Array<{ targetPort?: number | string }>;
    };
    const pods = deploymentsOf(objects).filter((d) =>
      labelsMatch(spec.selector, d.spec.template.metadata.labels),
    );
    if (pods.length === 0) problems.push(`Service ${svc.metadata.name}: selects no Deployment's pods`);
    for (const d of pods) {
      const c = appContainer(d);
      for (const p of spec.ports ?? []) {
        if (c && portOf(c, p.targetPort) === undefined)
          problems.push(
            `Service ${svc.metadata.name}: targetPort ${String(p.targetPort)} is not a port of ${c.name}`,
          );
      }
    }
  }
  return problems;
}

/** Kubernetes' SIGKILL must come after the app's own drain deadline. */
function checkGrace(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const d of deploymentsOf(objects)) {
    const env = effectiveEnv(objects, d);
    if (!env) continue;
    const graceMs = (d.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    if (!('CDC_SHUTDOWN_TIMEOUT_MS' in env.raw)) {
      problems.push(`${d.metadata.name}: CDC_SHUTDOWN_TIMEOUT_MS is not set (state the drain deadline)`);
    } else if (graceMs <= env.parsed.CDC_SHUTDOWN_TIMEOUT_MS) {
      problems.push(
        `${d.metadata.name}: terminationGracePeriodSeconds ${graceMs / 1000} s is not longer than ` +
          `CDC_SHUTDOWN_TIMEOUT_MS ${env.parsed.CDC_SHUTDOWN_TIMEOUT_MS} ms`,
      );
    }
  }
  return problems;
}

function checkReplicas(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const d of deploymentsOf(objects)) {
    const replicas = d.spec.replicas ?? 1;
    const env = effectiveEnv(objects, d);
    if (appOf(d) === 'capture') {
      if (replicas !== 1) problems.push(`cdc-capture: ${replicas} replicas; one capture per source`);
      if (d.spec.strategy?.type !== 'Recreate')
        problems.push('cdc-capture: strategy is not Recreate (a rolling update runs two captures at once)');
    }
    if (appOf(d) === 'applier' && env && replicas > env.parsed.CDC_TOPIC_PARTITIONS) {
      problems.push(
        `cdc-applier: ${replicas} replicas > CDC_TOPIC_PARTITIONS ${env.parsed.CDC_TOPIC_PARTITIONS} (idle members)`,
      );
    }
  }
  return problems;
}

function checkPodSpecs(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const d of deploymentsOf(objects)) {
    if (!labelsMatch(d.spec.selector.matchLabels, d.spec.template.metadata.labels))
      problems.push(`${d.metadata.name}: selector does not match its pod labels`);
    const sa = d.spec.template.spec.serviceAccountName;
    if (!sa || !objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === sa))
      problems.push(`${d.metadata.name}: ServiceAccount ${sa ?? '(none)'} is not defined`);
    const r = appContainer(d)?.resources;
    for (const need of ['requests.cpu', 'requests.memory', 'limits.memory'] as const) {
      const [group, key] = need.split('.') as ['requests' | 'limits', string];
      if (!r?.[group]?.[key]) problems.push(`${d.metadata.name}: no resources.${need}`);
    }
  }
  return problems;
}

/** Each budget selects the pods of a Deployment, and never blocks a drain of a single replica. */
function checkPdbs(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
  for (const pdb of pdbs) {
    const spec = pdb.spec as { selector?: { matchLabels?: Record<string, string> }; minAvailable?: number };
    const pods = deploymentsOf(objects).filter((d) =>
      labelsMatch(spec.selector?.matchLabels, d.spec.template.metadata.labels),
    );
    if (pods.length !== 1)
      problems.push(`PDB ${pdb.metadata.name}: selects ${pods.length} Deployments' pods, not 1`);
    for (const d of pods) {
      if ((spec.minAvailable ?? 0) >= (d.spec.replicas ?? 1))
        problems.push(`PDB ${pdb.metadata.name}: minAvailable ${spec.minAvailable} blocks every eviction`);
    }
  }
  for (const d of deploymentsOf(objects).filter((x) => (x.spec.replicas ?? 1) > 1)) {
    const covered = pdbs.some((p) =>
      labelsMatch(
        (p.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels,
        d.spec.template.metadata.labels,
      ),
    );
    if (!covered) problems.push(`${d.metadata.name}: ${d.spec.replicas} replicas and no PodDisruptionBudget`);
  }
  return problems;
}

const CHECKS = { checkApps, checkEnv, checkProbes, checkGrace, checkReplicas, checkPodSpecs, checkPdbs };

// ------------------------------------------------------------------------------------------------------ tests

describe('deploy/ manifests', () => {
  for (const { name, objects } of TARGETS) {
    for (const [check, fn] of Object.entries(CHECKS)) {
      it(`${name}: ${check}`, () => expect(fn(objects)).toEqual([]));
    }
  }

  it('the overlay renders its namespace, images, replicas and patches over the base', () => {
    const objects = render(OVERLAYS[0] as string);
    const applier = deploymentsOf(objects).find((d) => d.metadata.name === 'cdc-applier') as Deployment;
    expect(
      objects.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'cdc-example'),
    ).toBe(true);
    expect(applier.spec.replicas).toBe(4);
    const c = appContainer(applier) as Container;
    expect(c.image).toBe('registry.example.com/cdc/applier:1.0.0');
    const env = containerEnv(objects, c).env;
    expect(env).toMatchObject({
      CDC_APPLIER_CONCURRENCY: '32',
      HTTP_PORT: '8082',
      CDC_TOPIC_PARTITIONS: '12',
    });
    expect(c.readinessProbe?.httpGet?.path).toBe('/health'); // the patch merged, it did not replace
  });
});

/** A copy of the base with one object changed by `edit`. */
function broken(edit: (objects: K8sObject[]) => void): K8sObject[] {
  const objects = structuredClone(render(BASE));
  edit(objects);
  return objects;
}
const dep = (objects: K8sObject[], app: AppName) =>
  deploymentsOf(objects).find((d) => d.metadata.name === `cdc-${app}`) as Deployment;
const container = (objects: K8sObject[], app: AppName) => appContainer(dep(objects, app)) as Container;
const config = (objects: K8sObject[]) =>
  objects.find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };

describe('deploy/ checks catch what they check', () => {
  it('an env name outside the schema, a bad value, a missing secret, a secret the app must not get', () => {
    expect(checkEnv(broken((o) => (config(o).data.CDC_TABEL = 'x')))).toEqual([
      'cdc-capture: CDC_TABEL is neither in the config schema nor an AWS SDK variable',
      'cdc-applier: CDC_TABEL is neither in the config schema nor an AWS SDK variable',
      'cdc-verifier: CDC_TABEL is neither in the config schema nor an AWS SDK variable',
      'ConfigMap cdc-config: key CDC_TABEL is not in the config schema',
    ]);
    expect(checkEnv(broken((o) => (config(o).data.KAFKA_BROKERS = 'no-port')))).toEqual([
      expect.stringMatching(
        /^cdc-capture: loadConfig rejects its environment: .*KAFKA_BROKERS: use host:port/s,
      ),
      expect.stringContaining('cdc-applier: loadConfig rejects'),
      expect.stringContaining('cdc-verifier: loadConfig rejects'),
    ]);
    const secret = (o: K8sObject[], name: string) =>
      o.find((x) => x.kind === 'Secret' && x.metadata.name === name)?.stringData as Record<string, string>;
    expect(checkEnv(broken((o) => delete secret(o, 'cdc-capture-secrets').REDIS_URL))).toEqual([
      expect.stringMatching(/^cdc-capture: loadConfig rejects its environment: .*REDIS_URL/s),
    ]);
    expect(checkEnv(broken((o) => (secret(o, 'cdc-applier-secrets').REDIS_URL = 'redis://r:6379')))).toEqual([
      'cdc-applier: gets REDIS_URL, but the applier never talks to Redis (keep its password away)',
    ]);
  });

  it('a probe on another path or port, a container port the app does not listen on', () => {
    expect(
      checkProbes(
        broken(
          (o) =>
            ((container(o, 'applier').livenessProbe as Probe).httpGet = { path: '/metrics', port: 'http' }),
        ),
      ),
    ).toEqual(['cdc-applier: livenessProbe asks /metrics, not /health']);
    expect(
      checkProbes(broken((o) => container(o, 'verifier').env?.push({ name: 'HTTP_PORT', value: '9000' }))),
    ).toEqual([
      'cdc-verifier: declares no containerPort 9000 (the app listens there)',
      'cdc-verifier: startupProbe port http is 8083, app on 9000',
      'cdc-verifier: readinessProbe port http is 8083, app on 9000',
      'cdc-verifier: livenessProbe port http is 8083, app on 9000',
    ]);
  });

  it('a grace period within the drain deadline', () => {
    expect(
      checkGrace(broken((o) => (dep(o, 'capture').spec.template.spec.terminationGracePeriodSeconds = 15))),
    ).toEqual([
      'cdc-capture: terminationGracePeriodSeconds 15 s is not longer than CDC_SHUTDOWN_TIMEOUT_MS 15000 ms',
    ]);
  });

  it('two captures, more appliers than partitions', () => {
    expect(checkReplicas(broken((o) => (dep(o, 'capture').spec.replicas = 2)))).toEqual([
      'cdc-capture: 2 replicas; one capture per source',
    ]);
    expect(checkReplicas(broken((o) => (config(o).data.CDC_TOPIC_PARTITIONS = '2')))).toEqual([
      'cdc-applier: 3 replicas > CDC_TOPIC_PARTITIONS 2 (idle members)',
    ]);
  });

  it('a budget that selects nothing, or blocks evictions', () => {
    const pdb = (o: K8sObject[]) =>
      o.find((x) => x.kind === 'PodDisruptionBudget') as K8sObject & { spec: Record<string, unknown> };
    expect(checkPdbs(broken((o) => (pdb(o).spec.selector = { matchLabels: { app: 'nope' } })))).toEqual([
      "PDB cdc-applier: selects 0 Deployments' pods, not 1",
      'cdc-applier: 3 replicas and no PodDisruptionBudget',
    ]);
    expect(
      checkPdbs(broken((o) => Object.assign(pdb(o).spec, { maxUnavailable: undefined, minAvailable: 3 }))),
    ).toEqual(['PDB cdc-applier: minAvailable 3 blocks every eviction']);
  });
});

type Probe = NonNullable<Container['livenessProbe']>;
