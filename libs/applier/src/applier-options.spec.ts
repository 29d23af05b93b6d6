import { loadConfig } from '@cdc/config';
import { describe, expect, it } from 'vitest';
import { resolveTarget } from './applier-options';

const config = (env: Record<string, string> = {}) =>
  loadConfig({ CDC_SOURCE_ID: 'orders', KAFKA_BROKERS: '127.0.0.1:9092', ...env });

describe('resolveTarget', () => {
  it('takes everything from the config when no option is given', () => {
    expect(resolveTarget(config({ CDC_TABLE: 'T', CDC_APPLIER_GROUP: 'g' }))).toEqual({
      source: 'orders',
      topic: 'cdc.orders.changes',
      dlqTopic: 'cdc.orders.changes.dlq',
      table: 'T',
      group: 'g',
      createTable: true,
    });
  });

  it('gives a custom table its own consumer group, so it has its own offsets', () => {
    const t = resolveTarget(config(), { table: 'profiles' });
    expect(t.table).toBe('profiles');
    expect(t.group).toBe('cdc-applier.orders.profiles');
    expect(t.topic).toBe('cdc.orders.changes');
  });

  it('derives topic, table and group from another source by the naming rules', () => {
    expect(resolveTarget(config({ CDC_TOPIC: 'custom' }), { source: 'users' })).toMatchObject({
      topic: 'cdc.users.changes',
      dlqTopic: 'cdc.users.changes.dlq',
      table: 'cdc_users',
      group: 'cdc-applier.users.cdc_users',
    });
  });

  it('lets explicit options win', () => {
    expect(resolveTarget(config(), { group: 'mine', createTable: false })).toMatchObject({
      group: 'mine',
      createTable: false,
    });
  });
});
