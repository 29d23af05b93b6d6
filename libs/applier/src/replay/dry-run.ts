import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { compareVersion } from '@cdc/contracts';
import { ConditionalWriter, getItem, type WriteOutcome } from '@cdc/dynamo';
import { ATTR, type Item } from '@cdc/parity';
import type { DeadLetterSink } from '../dead-letter';
import type { PoisonMessage } from '../plan-batch';

/**
 * A --dry-run's writer: reads the stored version and says what the conditional write would have done
 * (the same rule as ConditionalWriter), without writing. A table that does not exist yet takes everything.
 */
export class PredictingWriter extends ConditionalWriter {
  constructor(
    private readonly reader: DynamoDBClient,
    private readonly tableExists: boolean,
  ) {
    super(reader);
  }

  override async putIfNewer(table: string, item: Item): Promise<WriteOutcome> {
    const incoming = item[ATTR.ver]?.N;
    const pk = item[ATTR.pk]?.S;
    if (incoming === undefined || pk === undefined) throw new Error('item has no version or pk');
    if (!this.tableExists) return 'applied';
    const stored = (await getItem(this.reader, table, pk))?.[ATTR.ver]?.N;
    const verdict = compareVersion(BigInt(incoming), stored === undefined ? undefined : BigInt(stored));
    return verdict === 'newer' ? 'applied' : verdict;
  }
}

/** A --dry-run's DLQ: counts what would be dead-lettered (BatchApplier's report has the number). */
export class NoDeadLetter implements DeadLetterSink {
  send(_sourceTopic: string, _poison: readonly PoisonMessage[]): Promise<void> {
    return Promise.resolve();
  }
}
