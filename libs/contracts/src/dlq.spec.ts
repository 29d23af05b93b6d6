import { describe, expect, it } from 'vitest';
import { DLQ_CODES, dlqKind, isDlqCode } from './dlq';

describe('DLQ code set', () => {
  it('classes: capture policy codes are not carried, decode failures poison, apply refusals rejected', () => {
    expect(dlqKind('UNSUPPORTED_TYPE')).toBe('not-carried');
    expect(dlqKind('VALUE_TOO_LARGE')).toBe('not-carried');
    expect(dlqKind('BAD_MAGIC')).toBe('poison');
    expect(dlqKind('ITEM_REJECTED')).toBe('rejected');
    expect(dlqKind('MAPPING_FAILED')).toBe('rejected');
  });

  it('an unknown code (a foreign or older writer) is poison, never excused as not carried', () => {
    expect(isDlqCode('SOMETHING_NEW')).toBe(false);
    expect(isDlqCode('toString')).toBe(false);
    expect(dlqKind('SOMETHING_NEW')).toBe('poison');
  });

  it('only capture writes not-carried codes, and every code names a fix', () => {
    for (const [code, spec] of Object.entries(DLQ_CODES)) {
      if (spec.kind === 'not-carried') expect(spec.by, code).toBe('capture');
      expect(spec.fix.length, code).toBeGreaterThan(3);
    }
  });
});
