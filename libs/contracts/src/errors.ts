import type { DlqCode } from './dlq';

/**
 * A closed set of decode failures. None is worth a retry: the bytes will never decode differently, so the
 * applier's failure policy routes the record to the dead-letter topic with this code and keeps going.
 */
export type ContractErrorCode = Extract<
  DlqCode,
  'BAD_MAGIC' | 'UNKNOWN_SCHEMA' | 'UNDECODABLE' | 'INVALID_EVENT'
>;

export class ContractError extends Error {
  constructor(
    readonly code: ContractErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ContractError';
  }
}
