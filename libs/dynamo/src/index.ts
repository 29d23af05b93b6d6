export * from './client';
export * from './table';
export * from './table-teardown';
export * from './conditional-writer';
export * from './shard-lineage';
export * from './stream-reader';
export * from './items';
export * from './preflight';
