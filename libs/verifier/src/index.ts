export * from './verifier.module';
export * from './verifier.service';
export * from './parity-ledger';
export * from './stream-state';
export * from './scan/two-sided-scan';
export * from './scan/report';
export * from './scan/checkpoint';
export * from './scan/glob';
