export * from './capture.module';
export * from './capture.service';
export * from './capture-pipeline';
export * from './pending-keys';
export * from './to-event';
