import { describe, expect, it } from 'vitest';
import { parseInfo } from './server-info';

describe('parseInfo', () => {
  it('reads key:value lines and skips section headers', () => {
    const info = parseInfo(
      '# Commandstats\r\ncmdstat_flushdb:calls=3,usec=10,usec_per_call=3.33\r\ncmdstat_set:calls=9\r\n',
    );
    expect(info.get('cmdstat_flushdb')).toBe('calls=3,usec=10,usec_per_call=3.33');
    expect(info.has('# Commandstats')).toBe(false);
  });
});
