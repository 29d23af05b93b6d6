export * from './applier.module';
export * from './applier.service';
export * from './plan-batch';
