import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * Which source files a deployable can run, found by following imports from apps/<app>/src/main.ts: relative
 * imports whole-file, `@cdc/<lib>` imports symbol by symbol through the lib's index.ts (so importing
 * `ConditionalWriter` from @cdc/dynamo brings conditional-writer.ts, not the stream reader next to it). Type-only
 * imports are left out: they send nothing. Used by test/unit/deploy-iam.spec.ts to find the AWS calls per app.
 */

export const ROOT = join(__dirname, '..', '..');

interface ImportClause {
  specifier: string;
  /** Named symbols (type-only ones dropped); undefined = the whole module (namespace, default, side effect). */
  names: string[] | undefined;
}

const IMPORT_RE =
  /^(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|^import\s+['"]([^'"]+)['"]/gm;

export function importsOf(source: string): ImportClause[] {
  const out: ImportClause[] = [];
  for (const m of source.matchAll(IMPORT_RE)) {
    if (m[5]) {
      out.push({ specifier: m[5], names: undefined });
      continue;
    }
    if (m[2]) continue; // `import type` / `export type`: nothing runs
    const clause = (m[3] ?? '').trim();
    const braces = /\{([^}]*)\}/.exec(clause);
    const outside = clause
      .replace(/\{[^}]*\}/, '')
      .replace(/,/g, ' ')
      .trim();
    if (!braces || outside) {
      out.push({ specifier: m[4] as string, names: undefined }); // `* as x`, a default import, `export *`
      continue;
    }
    const names = (braces[1] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && !s.startsWith('type '))
      .map((s) => (s.split(/\s+as\s+/)[0] ?? '').trim());
    if (names.length > 0) out.push({ specifier: m[4] as string, names });
  }
  return out;
}

function resolveFile(from: string, specifier: string): string | undefined {
  const base = join(dirname(from), specifier);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

const read = (file: string) => readFileSync(file, 'utf8');

function declares(file: string, name: string): boolean {
  const src = read(file);
  const decl = new RegExp(
    `^export\\s+(?:declare\\s+)?(?:abstract\\s+)?(?:async\\s+)?(?:class|function\\*?|const|let|var|enum|namespace)\\s+${name}\\b`,
    'm',
  );
  return decl.test(src) || new RegExp(`^export\\s*\\{[^}]*\\b${name}\\b[^}]*\\}\\s*;`, 'm').test(src);
}

/** The file of a barrel (index.ts and the barrels it re-exports) that declares `name`. */
function declaringFile(barrel: string, name: string, seen = new Set<string>()): string | undefined {
  if (seen.has(barrel)) return undefined;
  seen.add(barrel);
  if (declares(barrel, name)) return barrel;
  for (const imp of importsOf(read(barrel))) {
    if (!imp.specifier.startsWith('.')) continue;
    const file = resolveFile(barrel, imp.specifier);
    if (!file || (imp.names && !imp.names.includes(name))) continue;
    const found = declaringFile(file, name, seen);
    if (found) return found;
  }
  return undefined;
}

/** The files an import clause brings in (external packages: none). */
function targets(from: string, imp: ImportClause): string[] {
  if (imp.specifier.startsWith('.')) {
    const file = resolveFile(from, imp.specifier);
    return file ? [file] : [];
  }
  const lib = /^@cdc\/([a-z0-9-]+)$/.exec(imp.specifier)?.[1];
  if (!lib) return [];
  const index = join(ROOT, 'libs', lib, 'src', 'index.ts');
  if (!imp.names) return [index];
  return imp.names.map((name) => {
    const file = declaringFile(index, name);
    if (!file) throw new Error(`${relative(ROOT, from)}: ${name} is not exported by @cdc/${lib}`);
    return file;
  });
}

/** Every source file reachable from `entry`, skipping paths under `exclude` (relative to the repository). */
export function reachable(entry: string, exclude: readonly string[] = []): Set<string> {
  const seen = new Set<string>();
  const skip = (file: string) => exclude.some((e) => relative(ROOT, file).startsWith(e));
  const stack = [join(ROOT, entry)];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file) || skip(file)) continue;
    seen.add(file);
    for (const imp of importsOf(read(file))) stack.push(...targets(file, imp));
  }
  return new Set([...seen].map((f) => relative(ROOT, f)));
}

const AWS_MODULES = ['@aws-sdk/client-dynamodb', '@aws-sdk/client-dynamodb-streams'];
/** SDK helpers that send a command of their own: paginators and waiters. */
const HELPERS: Record<string, string> = {
  paginateScan: 'Scan',
  paginateQuery: 'Query',
  paginateListTables: 'ListTables',
  waitUntilTableExists: 'DescribeTable',
  waitUntilTableNotExists: 'DescribeTable',
};

/**
 * The DynamoDB / DynamoDB Streams operations a file sends: `new XCommand(` for an X imported from the SDK
 * (both clients' operations are IAM actions `dynamodb:X`), and the paginators and waiters it calls.
 */
export function awsOperations(file: string): string[] {
  const src = read(join(ROOT, file));
  const imported = importsOf(src)
    .filter((i) => AWS_MODULES.includes(i.specifier))
    .flatMap((i) => i.names ?? []);
  const ops = new Set<string>();
  for (const name of imported) {
    const command = /^(\w+)Command$/.exec(name)?.[1];
    if (command && new RegExp(`new\\s+${name}\\s*\\(`).test(src)) ops.add(command);
    const helper = HELPERS[name];
    if (helper && new RegExp(`\\b${name}\\s*\\(`).test(src)) ops.add(helper);
  }
  return [...ops].sort();
}
