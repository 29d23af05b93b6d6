import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  groupMembers,
  isAlive,
  ownedBy,
  resolveExecutable,
  spawnDetached,
  stackMarker,
  stopGroup,
  tailFile,
  tailLines,
} from './process';
import { scratch } from './scratch.spec-helper';

describe('tailLines', () => {
  it('returns the last n lines without the trailing newline', () => {
    expect(tailLines('a\nb\nc\nd\n', 2)).toBe('c\nd');
    expect(tailLines('a\r\nb\r\n', 5)).toBe('a\nb');
    expect(tailLines('', 3)).toBe('');
    expect(tailLines('only', 40)).toBe('only');
  });
});

describe('tailFile', () => {
  it('reads only the end of a large file and tolerates a missing one', () => {
    const dir = scratch('tail');
    const f = join(dir, 'x.log');
    writeFileSync(f, Array.from({ length: 10_000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    expect(tailFile(f, 3)).toBe('line 9997\nline 9998\nline 9999');
    expect(tailFile(f, 3, 20)).toBe('line 9998\nline 9999'); // only the last 20 bytes were read
    expect(tailFile(join(dir, 'missing.log'))).toBe('');
  });
});

describe('resolveExecutable', () => {
  it('searches the PATH it is given, at call time', () => {
    const dir = scratch('bin');
    const exe = join(dir, 'fake-tool');
    writeFileSync(exe, '#!/bin/sh\n');
    chmodSync(exe, 0o755);
    writeFileSync(join(dir, 'not-exec'), '');
    expect(resolveExecutable('fake-tool', { PATH: `/nonexistent:${dir}` })).toBe(exe);
    expect(resolveExecutable('not-exec', { PATH: dir })).toBeUndefined();
    expect(resolveExecutable('fake-tool', { PATH: '' })).toBeUndefined();
    expect(resolveExecutable('fake-tool', {})).toBeUndefined();
  });
});

describe('process groups', () => {
  it('spawns detached into its own group, and stopGroup ends the whole group', async () => {
    const dir = scratch('proc');
    const logFile = join(dir, 'p.log');
    // A shell that starts a grandchild: both must go.
    const s = spawnDetached('/bin/sh', ['-c', 'sleep 30 & echo started; wait'], {
      cwd: dir,
      env: process.env,
      logFile,
    });
    expect(isAlive(s.pid)).toBe(true);
    for (let i = 0; i < 50 && groupMembers(s.pid).length < 2; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(groupMembers(s.pid).length).toBe(2);
    expect(ownedBy(s.pid, dir)).toBe(false); // neither our JVM marker nor a redis-server
    expect(await stopGroup(s.pid, 2_000)).toBe(true);
    expect(groupMembers(s.pid)).toEqual([]);
    expect(isAlive(s.pid)).toBe(false);
    expect(tailFile(logFile)).toBe('started');
  });

  it('reports a process that cannot be started through exited()', async () => {
    const dir = scratch('proc');
    const s = (() => {
      try {
        return spawnDetached('/bin/sh', ['-c', 'exit 3'], {
          cwd: dir,
          env: process.env,
          logFile: join(dir, 'l'),
        });
      } catch (e) {
        return e as Error;
      }
    })();
    if (s instanceof Error) throw s;
    for (let i = 0; i < 100 && !s.exited(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.exited()).toEqual({ code: 3, signal: null });
  });

  it('treats a missing pid as dead and the marker as stateDir-specific', () => {
    expect(isAlive(process.pid)).toBe(true);
    expect(isAlive(2 ** 22 + 12345)).toBe(false);
    expect(stackMarker('/a/b')).toBe('-Dcdc.stack.dir=/a/b');
  });
});
