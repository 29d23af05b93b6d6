import type { KeyReader, KeyState } from '@cdc/redis';
import { describe, expect, it } from 'vitest';
import { SourceReader } from './source-read';

/** A reader that returns fixed states (the real one runs the versioned Lua read: integration-tested). */
function readerOf(states: Array<Omit<KeyState, 'key' | 'version' | 'readAtMs' | 'expireAtMs'>>) {
  const calls: number[] = [];
  const reader: KeyReader = {
    read: (keys, _bump, guard = 0) => {
      calls.push(guard);
      return Promise.resolve(
        keys.map((key, i) => ({ key, version: 0n, readAtMs: 1, expireAtMs: null, ...states[i] }) as KeyState),
      );
    },
  };
  return { reader, calls };
}

const settings = { maxEventBytes: 2048, sourceId: 's', db: 0 };
const str = (n: number) => ({ type: 'string' as const, data: Buffer.alloc(n, 'x') });

describe("SourceReader: Redis state with capture's not-carried policy", () => {
  it("reads with capture's guard and judges streams, guarded and encoded-oversized values as capture does", async () => {
    const { reader, calls } = readerOf([
      { type: 'string', value: str(10) },
      { type: 'stream', value: null },
      { type: 'string', value: null, oversizedBytes: 65_536 },
      { type: 'string', value: str(3_000) },
      { type: 'none', value: null },
    ]);
    const out = await new SourceReader(reader, settings).read(
      ['a', 'b', 'c', 'd', 'e'].map((k) => Buffer.from(k)),
    );
    expect(calls).toEqual([8192]);
    expect(out.map((s) => s.notCarried?.code ?? null)).toEqual([
      null,
      'UNSUPPORTED_TYPE',
      'VALUE_TOO_LARGE',
      'VALUE_TOO_LARGE',
      null,
    ]);
    expect(out[3]?.notCarried?.reason).toMatch(/^event of \d+ bytes > CDC_MAX_EVENT_BYTES \(2048\)$/);
    expect(out[0]).toMatchObject({ value: str(10), expireAtMs: null });
  });

  it('carries a value just under the limit (measured, not guessed)', async () => {
    const { reader } = readerOf([{ type: 'string', value: str(1_900) }]);
    const [state] = await new SourceReader(reader, settings).read([Buffer.from('k')]);
    expect(state?.notCarried).toBeNull();
  });
});
