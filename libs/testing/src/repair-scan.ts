import type { CdcConfig } from '@cdc/config';
import { createDynamoClient } from '@cdc/dynamo';
import { openSourceAccess } from '@cdc/redis';
import { sourceScan } from '@cdc/verifier';

/**
 * What `cdc verify --repair --match <source>:*` does, in-process: the two-sided scan over the test's keys, with
 * confirmed mismatches re-captured by `repair` (a running CaptureService's). Returns the keys it repaired.
 */
export async function repairScan(
  config: CdcConfig,
  repair: (keys: Buffer[]) => Promise<number>,
): Promise<number> {
  const access = await openSourceAccess(config.require('redis').redis, 'test-repair-scan');
  const dynamo = createDynamoClient(config.dynamo);
  try {
    const scan = sourceScan(config, access, dynamo);
    const report = await scan.run({ match: `${config.sourceId}:*`, repair });
    return report.repaired;
  } finally {
    dynamo.destroy();
    access.close();
  }
}
