import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@cdc/config';
import { BASE, type Container, containerEnv, DEPLOY, deploymentsOf, render } from './deploy-model';
import { awsOperations, importsOf, reachable } from './source-graph';

/**
 * deploy/iam/*.json hold the least privilege each deployable needs. The operations are found in the code, not
 * listed by hand: every file an app can run (imports followed from its main.ts, source-graph.ts), every
 * `new XCommand(` of the DynamoDB and DynamoDB Streams clients in them, and the SDK paginators and waiters.
 * A policy that lacks one fails (the app would get AccessDenied in production), and so does one that grants
 * an operation nothing sends.
 */

type Who = 'capture' | 'applier' | 'verifier' | 'cli';
/** Talk only to the engines they start (libs/stack) or to a benchmark stack (bench): never to AWS. */
const LOCAL_ONLY = ['apps/cli/src/bench/', 'libs/stack/', 'libs/testing/'];
const TABLE_SETUP_FILE = 'libs/dynamo/src/table.ts';
/** Sent only when a table is created (ensureTable with create=true): table-setup.json's, nobody else's. */
const CREATE_ONLY = new Set(['CreateTable', 'UpdateTimeToLive']);
const TEARDOWN_FILE = 'libs/dynamo/src/table-teardown.ts';
/** Sent only by `cdc teardown --drop-tables`: teardown.json's, nobody else's. */
const DROP_ONLY = new Set(['DeleteTable']);
const STREAM_OPERATIONS = new Set(['DescribeStream', 'GetRecords', 'GetShardIterator', 'ListStreams']);

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const readPolicy = (name: string): Policy =>
  JSON.parse(readFileSync(join(DEPLOY, 'iam', `${name}.json`), 'utf8')) as Policy;

/** Operation -> the files that send it, for everything `who` can run. */
function operationsOf(who: Who): Map<string, string[]> {
  const files = reachable(`apps/${who}/src/main.ts`, LOCAL_ONLY);
  const ops = new Map<string, string[]>();
  for (const f of [...files].sort())
    for (const op of awsOperations(f)) ops.set(op, [...(ops.get(op) ?? []), f]);
  return ops;
}

/** The table every deployable of deploy/base is configured with. */
function baseTable(): string {
  const objects = render(BASE);
  const tables = new Set(
    deploymentsOf(objects).map((d) => {
      const c = d.spec.template.spec.containers[0];
      return loadConfig(containerEnv(objects, c as Container).env).table;
    }),
  );
  if (tables.size !== 1) throw new Error(`deploy/base configures ${tables.size} tables`);
  return [...tables][0] as string;
}

/** What the policy grants is exactly `needed`, scoped to the table and its stream, no wildcard action. */
function checkPolicy(name: string, policy: Policy, needed: ReadonlySet<string>, table: string): string[] {
  const problems: string[] = [];
  const tableArn = new RegExp(`^arn:aws:dynamodb:[A-Za-z0-9_-]+:[A-Za-z0-9_]+:table/${table}$`);
  const streamArn = new RegExp(`^arn:aws:dynamodb:[A-Za-z0-9_-]+:[A-Za-z0-9_]+:table/${table}/stream/\\*$`);
  const granted = new Set<string>();
  if (policy.Version !== '2012-10-17') problems.push(`${name}: Version is not "2012-10-17"`);
  for (const s of policy.Statement) {
    const where = `${name} ${s.Sid ?? 'statement'}`;
    if (s.Effect !== 'Allow') problems.push(`${where}: Effect ${s.Effect}; list only what is allowed`);
    for (const action of list(s.Action)) {
      const op = /^dynamodb:([A-Za-z]+)$/.exec(action)?.[1];
      if (!op) {
        problems.push(`${where}: action ${action} is not one dynamodb:Operation (no wildcards)`);
        continue;
      }
      granted.add(op);
      for (const resource of list(s.Resource)) {
        const wanted = STREAM_OPERATIONS.has(op) ? streamArn : tableArn;
        if (!wanted.test(resource)) {
          problems.push(
            `${where}: ${op} on ${resource}; expected the ${STREAM_OPERATIONS.has(op) ? 'stream' : 'table'} ARN of ${table}`,
          );
        }
      }
    }
  }
  for (const op of [...needed].sort()) if (!granted.has(op)) problems.push(`${name}: lacks dynamodb:${op}`);
  for (const op of [...granted].sort())
    if (!needed.has(op)) problems.push(`${name}: grants dynamodb:${op}, which nothing sends`);
  return problems;
}

function required(who: Who): Set<string> {
  return new Set([...operationsOf(who).keys()].filter((op) => !CREATE_ONLY.has(op) && !DROP_ONLY.has(op)));
}

describe('deploy/iam: least privilege, derived from the code', () => {
  const table = baseTable();

  it('capture sends no AWS request (its pod gets no IAM role and no token)', () => {
    expect(Object.fromEntries(operationsOf('capture'))).toEqual({});
  });

  for (const who of ['applier', 'verifier', 'cli'] as const) {
    it(`${who}.json grants exactly what ${who} sends`, () => {
      expect(required(who).size).toBeGreaterThan(0);
      expect(checkPolicy(`${who}.json`, readPolicy(who), required(who), table)).toEqual([]);
    });
  }

  it('table-setup.json grants exactly what creating the table sends', () => {
    const needed = new Set(awsOperations(TABLE_SETUP_FILE));
    expect([...CREATE_ONLY].every((op) => needed.has(op))).toBe(true);
    expect(checkPolicy('table-setup.json', readPolicy('table-setup'), needed, table)).toEqual([]);
  });

  it('teardown.json grants exactly what dropping the table sends, and only the CLI reaches it', () => {
    const needed = new Set(awsOperations(TEARDOWN_FILE));
    expect([...DROP_ONLY].every((op) => needed.has(op))).toBe(true);
    expect(checkPolicy('teardown.json', readPolicy('teardown'), needed, table)).toEqual([]);
    expect(operationsOf('cli').get('DeleteTable')).toEqual([TEARDOWN_FILE]);
    for (const app of ['capture', 'applier', 'verifier'] as const)
      expect(operationsOf(app).has('DeleteTable')).toBe(false);
  });

  it('the base creates no table, so no app policy needs CreateTable', () => {
    const objects = render(BASE);
    for (const d of deploymentsOf(objects)) {
      const env = containerEnv(objects, d.spec.template.spec.containers[0] as Container).env;
      expect(env.CDC_CREATE_TABLE, d.metadata.name).toBe('false');
    }
  });

  it('the scan sees what each app sends (the applier writes, the verifier reads the stream)', () => {
    expect(operationsOf('applier').get('PutItem')).toEqual(['libs/dynamo/src/conditional-writer.ts']);
    expect(operationsOf('verifier').get('GetRecords')).toEqual(['libs/dynamo/src/stream-reader.ts']);
    expect(operationsOf('verifier').has('PutItem')).toBe(false);
    expect(operationsOf('cli').has('Scan')).toBe(true);
  });
});

describe('deploy/iam checks catch what they check', () => {
  it('imports: type-only ones send nothing, named ones are followed symbol by symbol', () => {
    const src = [
      "import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
      "import {\n  type AttributeValue,\n  PutItemCommand as Put,\n} from '@aws-sdk/client-dynamodb';",
      "import * as all from '@cdc/dynamo';",
      "export * from './table';",
      "import './side-effect';",
    ].join('\n');
    expect(importsOf(src)).toEqual([
      { specifier: '@aws-sdk/client-dynamodb', names: ['PutItemCommand'] },
      { specifier: '@cdc/dynamo', names: undefined },
      { specifier: './table', names: undefined },
      { specifier: './side-effect', names: undefined },
    ]);
  });

  const needed = new Set(['PutItem', 'GetRecords']);
  const arn = 'arn:aws:dynamodb:REGION:ACCOUNT_ID:table/t';
  const policy = (statements: Statement[]): Policy => ({ Version: '2012-10-17', Statement: statements });

  it('a missing action, an unused one, a wildcard, a wrong resource', () => {
    expect(
      checkPolicy(
        'p',
        policy([
          { Sid: 'a', Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: arn },
          { Sid: 'b', Effect: 'Allow', Action: 'dynamodb:*', Resource: '*' },
          { Sid: 'c', Effect: 'Allow', Action: 'dynamodb:GetRecords', Resource: arn },
        ]),
        needed,
        't',
      ),
    ).toEqual([
      'p b: action dynamodb:* is not one dynamodb:Operation (no wildcards)',
      `p c: GetRecords on ${arn}; expected the stream ARN of t`,
      'p: grants dynamodb:DeleteItem, which nothing sends',
    ]);
    expect(
      checkPolicy('p', policy([{ Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: '*' }]), needed, 't'),
    ).toEqual(['p statement: PutItem on *; expected the table ARN of t', 'p: lacks dynamodb:GetRecords']);
  });
});
