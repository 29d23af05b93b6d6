export * from './verifier.module';
export * from './verifier.service';
export * from './parity-ledger';
export * from './stream-state';
