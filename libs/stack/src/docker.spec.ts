import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerSpecs, ensureDocker } from './docker';
import { StackError } from './errors';
import { stackUp } from './stack';
import { scratch } from './scratch.spec-helper';

describe('containerSpecs', () => {
  const specs = containerSpecs('ab12', { redis: 40001, kafka: 40002, dynamodb: 40003 });
  const byName = Object.fromEntries(specs.map((s) => [s.name, s]));

  it('runs detached, removed on stop, named per stack, published on 127.0.0.1 only', () => {
    expect(byName.redis?.args.slice(0, 7)).toEqual([
      'run',
      '-d',
      '--rm',
      '--name',
      'cdc-redis-ab12',
      '-p',
      '127.0.0.1:40001:6379',
    ]);
    expect(byName.kafka?.args).toContain('127.0.0.1:40002:9092');
    expect(byName.dynamodb?.args).toContain('127.0.0.1:40003:8000');
  });

  it('configures each engine like the native stack', () => {
    const redis = byName.redis?.args ?? [];
    expect(redis.slice(redis.indexOf('redis:7'))).toEqual([
      'redis:7',
      'redis-server',
      '--save',
      '',
      '--appendonly',
      'no',
      '--notify-keyspace-events',
      'KEA',
    ]);
    const kafka = byName.kafka?.args ?? [];
    expect(kafka[kafka.length - 1]).toBe('apache/kafka:3.9.1');
    expect(kafka).toContain('KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://127.0.0.1:40002');
    expect(kafka).toContain('KAFKA_PROCESS_ROLES=broker,controller');
    expect(kafka).toContain('KAFKA_AUTO_CREATE_TOPICS_ENABLE=false');
    const dynamo = byName.dynamodb?.args ?? [];
    expect(dynamo.slice(dynamo.indexOf('amazon/dynamodb-local'))).toEqual([
      'amazon/dynamodb-local',
      '-jar',
      'DynamoDBLocal.jar',
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
    ]);
    expect(byName.dynamodb?.endpoint).toBe('http://127.0.0.1:40003');
    expect(byName.kafka?.endpoint).toBe('127.0.0.1:40002');
  });
});

describe('docker availability', () => {
  it('says DOCKER_UNAVAILABLE when the CLI is not on PATH', async () => {
    await expect(ensureDocker({ PATH: '' })).rejects.toMatchObject({ code: 'DOCKER_UNAVAILABLE' });
  });

  it('stackUp with engines: docker fails fast with the fix when no daemon answers', async () => {
    // A docker CLI whose daemon is missing (what `docker info` prints then), whatever this machine has.
    const stateDir = scratch('docker');
    const bin = join(stateDir, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'docker'),
      '#!/bin/sh\necho "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const env = { PATH: bin };
    const err = await stackUp({ stateDir, cacheDir: stateDir, engines: 'docker', env }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StackError);
    expect((err as StackError).code).toBe('DOCKER_UNAVAILABLE');
    expect((err as StackError).message).toContain('Cannot connect to the Docker daemon');
    expect((err as StackError).message).toMatch(
      /no Docker engine answers.*use the native engines \(default\) or start Docker/,
    );
  });
});
