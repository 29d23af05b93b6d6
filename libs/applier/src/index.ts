export * from './applier.module';
export * from './applier.service';
export * from './applier-options';
export * from './batch-applier';
export * from './dead-letter';
export * from './item-mapper';
export * from './plan-batch';
