import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/**
 * What test/unit/deploy.spec.ts reads deploy/ into: the Kubernetes objects of a kustomization, rendered the
 * way `kustomize build` renders the subset deploy/ uses (resources, namespace, images, replicas and strategic
 * merge patches). No kustomize binary is needed; a kustomization key outside that subset is an error here, so
 * an overlay that starts using one fails the test instead of being rendered wrongly.
 */

export const DEPLOY = join(__dirname, '..', '..', 'deploy');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface Probe {
  httpGet?: { path?: string; port?: number | string };
  [k: string]: unknown;
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}
export interface Container {
  name: string;
  image?: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
export interface PodSpec {
  containers: Container[];
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
}
export interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    strategy?: { type?: string };
    selector: { matchLabels?: Record<string, string> };
    template: { metadata: { labels?: Record<string, string> }; spec: PodSpec };
  };
}

const SUPPORTED_KEYS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'images',
  'replicas',
  'patches',
]);
/** Kinds kustomize leaves without a namespace. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
]);

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseDocs(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc): K8sObject[] => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return [];
    if (!isMap(value) || typeof value.kind !== 'string' || !isMap(value.metadata)) {
      throw new Error(`${file}: a document without kind and metadata`);
    }
    return [value as unknown as K8sObject];
  });
}

/** Strategic merge for the shapes deploy/ patches: maps key by key, lists of named items by name. */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isMap(base) && isMap(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = k in base ? strategicMerge(base[k], v) : v;
    return out;
  }
  const named = (l: unknown[]) => l.every((i) => isMap(i) && typeof i.name === 'string');
  if (Array.isArray(base) && Array.isArray(patch) && named(base) && named(patch)) {
    const out = [...base] as Array<Record<string, unknown>>;
    for (const item of patch as Array<Record<string, unknown>>) {
      const i = out.findIndex((o) => o.name === item.name);
      if (i >= 0) out[i] = strategicMerge(out[i], item) as Record<string, unknown>;
      else out.push(item);
    }
    return out;
  }
  return patch;
}

function containersOf(o: K8sObject): Container[] {
  return o.kind === 'Deployment' ? (o as Deployment).spec.template.spec.containers : [];
}

/** `kustomize build <dir>` for the subset above. */
export function render(dir: string): K8sObject[] {
  const file = join(dir, 'kustomization.yaml');
  const k = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  for (const key of Object.keys(k)) {
    if (!SUPPORTED_KEYS.has(key)) {
      throw new Error(`${relative(DEPLOY, file)}: "${key}" is not rendered by test/unit/deploy-model.ts`);
    }
  }
  let objects: K8sObject[] = ((k.resources as string[] | undefined) ?? []).flatMap((r) => {
    const path = join(dir, r);
    if (!existsSync(path)) throw new Error(`${relative(DEPLOY, file)}: resource ${r} does not exist`);
    return statSync(path).isDirectory() ? render(path) : parseDocs(path);
  });
  for (const p of (k.patches as Array<{ path: string }> | undefined) ?? []) {
    const patches = parseDocs(join(dir, p.path));
    if (patches.length !== 1) throw new Error(`${p.path}: a patch file holds exactly one object`);
    const patch = patches[0] as K8sObject;
    const i = objects.findIndex((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
    if (i < 0) throw new Error(`${p.path}: patches ${patch.kind}/${patch.metadata.name}, which is not there`);
    objects[i] = strategicMerge(objects[i], patch) as K8sObject;
  }
  for (const r of (k.replicas as Array<{ name: string; count: number }> | undefined) ?? []) {
    const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === r.name) as Deployment;
    if (!d) throw new Error(`${relative(DEPLOY, file)}: replicas for ${r.name}, which is not there`);
    d.spec.replicas = r.count;
  }
  for (const img of (k.images as Array<{ name: string; newName?: string; newTag?: string }> | undefined) ??
    []) {
    for (const c of objects.flatMap(containersOf)) {
      const [name = '', tag] = (c.image ?? '').split(/:(?=[^/]*$)/);
      if (name === img.name) c.image = `${img.newName ?? name}:${img.newTag ?? tag ?? 'latest'}`;
    }
  }
  if (typeof k.namespace === 'string') {
    objects = objects.map((o) =>
      CLUSTER_SCOPED.has(o.kind)
        ? o
        : { ...o, metadata: { ...o.metadata, namespace: k.namespace as string } },
    );
  }
  return objects;
}

export const BASE = join(DEPLOY, 'base');
export const OVERLAYS = ['example'].map((o) => join(DEPLOY, 'overlays', o));

export function deploymentsOf(objects: readonly K8sObject[]): Deployment[] {
  return objects.filter((o): o is Deployment => o.kind === 'Deployment');
}

export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

/** A Secret's keys and values (stringData, or base64 data decoded). */
export function secretData(o: K8sObject): Record<string, string> {
  const data = (o.data ?? {}) as Record<string, string>;
  return {
    ...Object.fromEntries(Object.entries(data).map(([key, v]) => [key, Buffer.from(v, 'base64').toString()])),
    ...((o.stringData ?? {}) as Record<string, string>),
  };
}

/** The environment a container starts with: envFrom ConfigMaps/Secrets first, then env (which wins). */
export function containerEnv(
  objects: readonly K8sObject[],
  c: Container,
): { env: Record<string, string>; problems: string[] } {
  const env: Record<string, string> = {};
  const problems: string[] = [];
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
    const o = ref && find(objects, kind, ref.name);
    if (!o) problems.push(`${c.name}: envFrom ${kind} "${ref?.name}" does not exist`);
    else Object.assign(env, kind === 'Secret' ? secretData(o) : o.data);
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
    if (!ref) {
      env[e.name] = e.value ?? '';
      continue;
    }
    const kind = e.valueFrom?.secretKeyRef ? 'Secret' : 'ConfigMap';
    const o = find(objects, kind, ref.name);
    const data = o && (kind === 'Secret' ? secretData(o) : ((o.data ?? {}) as Record<string, string>));
    const value = data?.[ref.key];
    if (value === undefined)
      problems.push(`${c.name}: ${e.name} refers to ${kind} ${ref.name}/${ref.key}, missing`);
    else env[e.name] = value;
  }
  return { env, problems };
}

export function labelsMatch(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> = {},
) {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

export function relativeToDeploy(path: string): string {
  return relative(dirname(DEPLOY), path);
}
