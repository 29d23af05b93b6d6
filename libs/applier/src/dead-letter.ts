import { DLQ_HEADERS as H } from '@cdc/contracts';
import type { Producer } from '@cdc/kafka';
import type { PoisonMessage } from './plan-batch';

/** Where events that can never apply go: `<topic>.dlq`, with the original bytes and headers. */
export interface DeadLetterSink {
  send(sourceTopic: string, poison: readonly PoisonMessage[]): Promise<void>;
}

/**
 * Original key, value and headers, plus why and where from. acks=all: if the write fails, this throws, the
 * batch is not committed and its partition pauses (the event is never dropped for want of a DLQ).
 */
export class KafkaDeadLetter implements DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    private readonly dlqTopic: string,
  ) {}

  async send(sourceTopic: string, poison: readonly PoisonMessage[]): Promise<void> {
    if (poison.length === 0) return;
    await this.producer.send({
      topic: this.dlqTopic,
      acks: -1,
      messages: poison.map((p) => ({
        key: p.message.key,
        value: p.message.value,
        headers: {
          ...p.message.headers,
          [H.code]: p.code,
          [H.reason]: p.reason,
          [H.rejectedBy]: 'applier',
          [H.sourceTopic]: sourceTopic,
          [H.sourcePartition]: String(p.message.partition),
          [H.sourceOffset]: p.message.offset,
        },
      })),
    });
  }
}
