import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics';

describe('Metrics.sample', () => {
  it('reads a sampled gauge from its source at each scrape; the last source registered wins', async () => {
    const m = new Metrics({ defaultMetrics: false });
    expect(await m.registry.getSingleMetricAsString('cdc_capture_pending_keys')).toMatch(/ 0$/m);
    let pending = 7;
    m.sample(m.capturePendingKeys, () => pending);
    expect(await m.registry.getSingleMetricAsString('cdc_capture_pending_keys')).toMatch(
      /^cdc_capture_pending_keys 7$/m,
    );
    pending = 2;
    expect(await m.registry.metrics()).toMatch(/^cdc_capture_pending_keys 2$/m);
    m.sample(m.capturePendingKeys, () => 40);
    expect(await m.registry.metrics()).toMatch(/^cdc_capture_pending_keys 40$/m);
  });

  it('keeps registries apart: two instances sample their own sources', async () => {
    const a = new Metrics({ defaultMetrics: false });
    const b = new Metrics({ defaultMetrics: false });
    a.sample(a.capturePendingKeys, () => 1);
    b.sample(b.capturePendingKeys, () => 2);
    expect(await a.registry.metrics()).toMatch(/^cdc_capture_pending_keys 1$/m);
    expect(await b.registry.metrics()).toMatch(/^cdc_capture_pending_keys 2$/m);
  });
});
