import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { RedisValue } from '@cdc/contracts';
import { itemToState, type ItemState, keyToPk } from '@cdc/parity';
import { appImage, freePort, IMAGE_APPS, LOCAL_IMAGES, LOCAL_DYNAMO_CREDENTIALS } from '@cdc/stack';
import { waitFor } from '@cdc/testing';
import {
  DockerComposeEnvironment,
  getContainerRuntimeClient,
  ImageName,
  type StartedDockerComposeEnvironment,
  type StartedTestContainer,
  Wait,
} from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The user-facing docker-compose.yml, on host networking through docker-compose.host.yml, with the images
 * `npm run images` builds: the three engines and the three app images come up healthy, keys of every Redis type
 * written with redis-cli inside the redis container reach DynamoDB as their values, `cdc verify` finds 100%
 * parity, and `down` leaves no container and no network behind. Needs a Docker engine and docker-compose
 * (v1 standalone, or v2); docs/containers.md.
 */

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'cdc.js');
const PROJECT = `cdc-smoke-${process.pid}`;
const TABLE = 'cdc_local'; // CDC_SOURCE_ID=local in docker-compose.yml
const SOURCE_ID = 'local';

/** A value as plain text for comparing; hash fields, set and zset members sorted (the item keeps no order). */
function plain(v: RedisValue | null): unknown {
  const text = (b: Buffer) => b.toString();
  switch (v?.type) {
    case undefined:
      return null;
    case 'string':
      return ['string', text(v.data)];
    case 'hash':
      return ['hash', v.fields.map(([f, x]) => [text(f), text(x)]).sort()];
    case 'list':
      return ['list', v.items.map(text)];
    case 'set':
      return ['set', v.members.map(text).sort()];
    case 'zset':
      return ['zset', v.members.map(([m, score]) => [text(m), score]).sort()];
  }
}

const docker = (...args: string[]): string => {
  const res = spawnSync('docker', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`docker ${args.join(' ')}: ${res.stderr}`);
  return res.stdout.trim();
};
const leftovers = (kind: 'ps' | 'network ls'): string[] =>
  docker(
    ...kind.split(' '),
    ...(kind === 'ps' ? ['-a'] : []),
    '-q',
    '--filter',
    `label=com.docker.compose.project=${PROJECT}`,
  )
    .split('\n')
    .filter(Boolean);

describe('docker compose on host networking: the whole stack in containers', () => {
  const ports: Record<string, number> = {};
  let environment: StartedDockerComposeEnvironment | undefined;
  let redis: StartedTestContainer;
  let dynamo: DynamoDBClient;
  const cdcHome = mkdtempSync(join(tmpdir(), 'cdc-compose-'));

  const redisCli = async (...args: string[]): Promise<string> => {
    const res = await redis.exec(['redis-cli', '-p', String(ports.CDC_HOST_REDIS_PORT), ...args]);
    if (res.exitCode !== 0 || res.output.startsWith('ERR'))
      throw new Error(`redis-cli ${args.join(' ')}: ${res.output}`);
    return res.output.trim();
  };

  const item = async (key: string): Promise<ItemState | undefined> => {
    const { Item } = await dynamo.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: keyToPk(Buffer.from(key)) } },
        ConsistentRead: true,
      }),
    );
    return Item ? itemToState(Item) : undefined;
  };

  beforeAll(async () => {
    const client = await getContainerRuntimeClient();
    const images = [...Object.values(LOCAL_IMAGES), ...IMAGE_APPS.map(appImage)];
    const missing: string[] = [];
    for (const image of images) {
      if (!(await client.image.exists(ImageName.fromString(image)))) missing.push(image);
    }
    if (missing.length > 0)
      throw new Error(`images missing: ${missing.join(', ')}; build them with: npm run images`);

    for (const name of [
      'CDC_HOST_REDIS_PORT',
      'CDC_HOST_KAFKA_PORT',
      'CDC_HOST_KAFKA_CONTROLLER_PORT',
      'CDC_HOST_CAPTURE_PORT',
      'CDC_HOST_APPLIER_PORT',
      'CDC_HOST_VERIFIER_PORT',
    ]) {
      ports[name] = await freePort();
    }
    ports.CDC_HOST_DYNAMODB_PORT = await freePort({ allInterfaces: true }); // DynamoDB Local binds them all
    const vars = Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)]));

    environment = await new DockerComposeEnvironment(ROOT, ['docker-compose.yml', 'docker-compose.host.yml'])
      .withProjectName(PROJECT)
      // docker-compose 1.x is a command of its own, not a `docker compose` plugin.
      .withClientOptions({ executable: { standalone: true } })
      .withEnvironment(vars)
      // Every service has a healthcheck (the engines in compose, the apps in the Dockerfile): wait for all six.
      .withDefaultWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(300_000)
      .up();
    // How testcontainers names compose containers: <project>_<service>_1 (compose 1.x), <service>-1 (2.x).
    const name = (service: string) => [`${PROJECT}_${service}_1`, `${service}-1`];
    redis = name('redis')
      .map((n) => {
        try {
          return environment?.getContainer(n);
        } catch {
          return undefined;
        }
      })
      .find(Boolean) as StartedTestContainer;
    dynamo = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${ports.CDC_HOST_DYNAMODB_PORT}`,
      region: 'us-east-1',
      credentials: LOCAL_DYNAMO_CREDENTIALS,
    });
  });

  afterAll(async () => {
    dynamo?.destroy();
    await environment?.down().catch(() => undefined);
    rmSync(cdcHome, { recursive: true, force: true });
  });

  it('runs six containers, all on the host network, none publishing a port', () => {
    const ids = leftovers('ps');
    expect(ids).toHaveLength(6);
    for (const id of ids) {
      const [mode, ports] = docker(
        'inspect',
        '-f',
        '{{.HostConfig.NetworkMode}} {{json .HostConfig.PortBindings}}',
        id,
      ).split(' ');
      expect(mode).toBe('host');
      expect(['{}', 'null']).toContain(ports);
    }
    expect(leftovers('network ls')).toEqual([]);
  });

  it('serves /health of the three apps on their HTTP_PORTs', async () => {
    for (const app of IMAGE_APPS) {
      const res = await fetch(`http://127.0.0.1:${ports[`CDC_HOST_${app.toUpperCase()}_PORT`]}/health`);
      expect(res.status, app).toBe(200);
    }
  });

  it('replicates keys of every type written with redis-cli into DynamoDB', async () => {
    await redisCli('SET', 'smoke:string', 'hello compose');
    await redisCli('INCRBY', 'smoke:counter', '42');
    await redisCli('SET', 'smoke:ttl', 'later', 'EX', '3600');
    await redisCli('HSET', 'smoke:hash', 'f1', 'v1', 'f2', 'v2');
    await redisCli('RPUSH', 'smoke:list', 'a', 'b', 'c');
    await redisCli('SADD', 'smoke:set', 'x', 'y', 'z');
    await redisCli('ZADD', 'smoke:zset', '1', 'one', '2.5', 'two');
    await redisCli('XADD', 'smoke:stream', '*', 'f', 'v'); // not carried: rejected to the DLQ, a tombstone

    const live = async (key: string) => {
      const state = await waitFor(`${key} in ${TABLE}`, () => item(key), {
        timeoutMs: 120_000,
        accept: (s) => !s.deleted,
      });
      expect(state.writer).toBe(`cdc-replicator/${SOURCE_ID}`);
      return state;
    };
    expect(plain((await live('smoke:string')).value)).toEqual(['string', 'hello compose']);
    expect(plain((await live('smoke:counter')).value)).toEqual(['string', '42']);
    const ttl = await live('smoke:ttl');
    expect(plain(ttl.value)).toEqual(['string', 'later']);
    expect(ttl.expireAtSeconds).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(plain((await live('smoke:hash')).value)).toEqual([
      'hash',
      [
        ['f1', 'v1'],
        ['f2', 'v2'],
      ],
    ]);
    expect(plain((await live('smoke:list')).value)).toEqual(['list', ['a', 'b', 'c']]);
    expect(plain((await live('smoke:set')).value)).toEqual(['set', ['x', 'y', 'z']]);
    expect(plain((await live('smoke:zset')).value)).toEqual([
      'zset',
      [
        ['one', 1],
        ['two', 2.5],
      ],
    ]);
    const stream = await waitFor('smoke:stream tombstone', () => item('smoke:stream'), {
      timeoutMs: 120_000,
    });
    expect(stream.deleted).toBe(true);
    expect(stream.value).toBeNull();
  });

  it('cdc verify finds 100% parity between the redis and DynamoDB containers', async () => {
    const { code, out, err } = await new Promise<{ code: number | null; out: string; err: string }>(
      (resolve) => {
        const child = spawn(process.execPath, [CLI, 'verify', '--json'], {
          env: {
            ...process.env,
            CDC_HOME: cdcHome,
            REDIS_URL: `redis://127.0.0.1:${ports.CDC_HOST_REDIS_PORT}`,
            KAFKA_BROKERS: `127.0.0.1:${ports.CDC_HOST_KAFKA_PORT}`,
            DYNAMODB_ENDPOINT: `http://127.0.0.1:${ports.CDC_HOST_DYNAMODB_PORT}`,
            CDC_SOURCE_ID: SOURCE_ID,
            AWS_ACCESS_KEY_ID: 'local',
            AWS_SECRET_ACCESS_KEY: 'local',
            AWS_REGION: 'us-east-1',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let o = '';
        let e = '';
        child.stdout.on('data', (d: Buffer) => (o += d.toString()));
        child.stderr.on('data', (d: Buffer) => (e += d.toString()));
        child.once('close', (c) => resolve({ code: c, out: o, err: e }));
      },
    );
    expect(code, err).toBe(0);
    const report = JSON.parse(out) as {
      verdict: string;
      parityPct: number;
      checked: number;
      mismatches: number;
    };
    expect(report).toMatchObject({ verdict: 'parity', parityPct: 100, mismatches: 0 });
    expect(report.checked).toBeGreaterThanOrEqual(7); // the seven carried keys (the stream is absent on both sides)
  });

  it('comes down leaving no container and no network', async () => {
    await (environment as StartedDockerComposeEnvironment).down();
    environment = undefined;
    expect(leftovers('ps')).toEqual([]);
    expect(leftovers('network ls')).toEqual([]);
  });
});
