import type { DlqCode } from './dlq';

/**
 * A closed set of decode failures. None is retriable: the bytes will never decode differently, so the caller
 * routes the record to the dead-letter topic with this code and keeps going.
 */
export type ContractErrorCode = Extract<
  DlqCode,
  'BAD_MAGIC' | 'UNKNOWN_SCHEMA' | 'UNDECODABLE' | 'INVALID_EVENT'
>;

export class ContractError extends Error {
  readonly retriable = false;
  constructor(
    readonly code: ContractErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ContractError';
  }
}
