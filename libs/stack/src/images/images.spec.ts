import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratch } from '../scratch.spec-helper';
import { debianMirror } from './apt-sources';
import { hashTree, hashValue, linkTree } from './context';

describe('debianMirror', () => {
  it('takes the bookworm main archive from a deb822 .sources file, not -security, -updates or other repos', () => {
    const files = [
      {
        path: '/etc/apt/sources.list.d/debian.sources',
        text: [
          'Types: deb',
          '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
          'URIs: http://deb.debian.org/debian',
          'Suites: bookworm bookworm-updates',
          'Components: main',
          '',
          'Types: deb',
          'URIs: http://deb.debian.org/debian-security',
          'Suites: bookworm-security',
          'Components: main',
        ].join('\n'),
      },
      {
        path: '/etc/apt/sources.list.d/google.list',
        text: 'deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n',
      },
    ];
    expect(debianMirror(files, 'bookworm')).toBe('http://deb.debian.org/debian');
    expect(debianMirror(files.slice(1), 'bookworm')).toBeUndefined();
  });

  it('reads the one-line format, options and comments included, and skips deb-src', () => {
    const text = [
      '# deb http://old.example/debian bookworm main',
      'deb-src http://src.example/debian bookworm main',
      'deb http://security.example/debian-security bookworm-security main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main contrib',
    ].join('\n');
    expect(debianMirror([{ path: '/etc/apt/sources.list', text }], 'bookworm')).toBe(
      'http://mirror.example/debian',
    );
    expect(
      debianMirror(
        [{ path: '/etc/apt/sources.list', text: 'deb http://m.example/debian bookworm contrib\n' }],
        'bookworm',
      ),
    ).toBeUndefined();
  });
});

describe('build context hashing', () => {
  it('changes with a byte, a name or the executable bit, and not with hard links or the walk order', () => {
    const dir = scratch('ctx');
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM x\n');
    const before = hashTree(dir);
    const copy = join(scratch('copy'), 'ctx');
    linkTree(dir, copy);
    expect(hashTree(copy)).toBe(before);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM y\n');
    const edited = hashTree(dir);
    expect(edited).not.toBe(before);
    chmodSync(join(dir, 'bin', 'run.sh'), 0o644);
    expect(hashTree(dir)).not.toBe(edited);
  });

  it('hashes values with sorted keys', () => {
    expect(hashValue({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(hashValue({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(hashValue({ a: 1 })).not.toBe(hashValue({ a: 2 }));
  });
});

describe('images/kafka/bin/kafka-kraft.sh', () => {
  /** Runs the entrypoint with a stand-in `java` that records its arguments, and returns what it wrote. */
  function run(env: Record<string, string>): { properties: string; javaCalls: string[] } {
    const dir = scratch('kraft');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const calls = join(dir, 'calls');
    writeFileSync(join(bin, 'java'), `#!/bin/sh\necho "$*" >> "${calls}"\n`, { mode: 0o755 });
    const script = join(__dirname, '..', '..', '..', '..', 'images', 'kafka', 'bin', 'kafka-kraft.sh');
    const res = spawnSync('sh', [script], {
      env: { PATH: `${bin}:/usr/bin:/bin`, KAFKA_CONFIG_DIR: join(dir, 'config'), ...env },
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
    return {
      properties: readFileSync(join(dir, 'config', 'server.properties'), 'utf8'),
      javaCalls: readFileSync(calls, 'utf8').trim().split('\n'),
    };
  }

  it("turns KAFKA_* into properties with apache/kafka's naming, after defaults it overrides", () => {
    const { properties } = run({
      KAFKA_LISTENERS: 'PLAINTEXT://127.0.0.1:40001,CONTROLLER://127.0.0.1:40002',
      KAFKA_LOG_CLEANER_DEDUPE_BUFFER_SIZE: '2097152',
      KAFKA_SOME__UNDERSCORED___DASHED: 'a=b',
      KAFKA_LOG_DIRS: '/tmp/kraft',
      KAFKA_HEAP_OPTS: '-Xmx256m',
    });
    const lines = properties.trim().split('\n');
    expect(lines).toContain('listeners=PLAINTEXT://127.0.0.1:40001,CONTROLLER://127.0.0.1:40002');
    expect(lines).toContain('log.cleaner.dedupe.buffer.size=2097152');
    expect(lines).toContain('some_underscored-dashed=a=b');
    expect(lines.filter((l) => l.startsWith('log.dirs='))).toEqual([
      'log.dirs=/var/lib/kafka/data',
      'log.dirs=/tmp/kraft',
    ]);
    expect(lines.some((l) => l.startsWith('heap.opts'))).toBe(false);
  });

  it('formats the storage with CLUSTER_ID, then runs the broker, both with the JVM options', () => {
    const { javaCalls } = run({ CLUSTER_ID: 'AbCdEfGhIjKlMnOpQrStUv', KAFKA_HEAP_OPTS: '-Xmx256m' });
    expect(javaCalls).toHaveLength(2);
    expect(javaCalls[0]).toMatch(
      /^-Xmx256m .*kafka\.tools\.StorageTool format -t AbCdEfGhIjKlMnOpQrStUv -c \S+server\.properties --ignore-formatted$/,
    );
    expect(javaCalls[1]).toMatch(/^-Xmx256m .*kafka\.Kafka \S+server\.properties$/);
  });
});
