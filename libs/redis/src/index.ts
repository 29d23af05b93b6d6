export * from './client';
export * from './slot';
export * from './versioned-read';
export * from './notifications';
export * from './server-info';
export * from './control-keys';
