import { describe, expect, it } from 'vitest';
import { NotificationProbe } from './notification-probe';

describe('NotificationProbe.observe', () => {
  it('consumes only its own reserved keys', () => {
    const probe = new NotificationProbe();
    expect(probe.observe('set', Buffer.from('user:1'))).toBe(false);
    expect(probe.observe('set', Buffer.from('__cdc:probe:'))).toBe(false); // another probe's prefix
  });
});
