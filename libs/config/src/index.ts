export * from './config';
export * from './config.module';
export { envSchema } from './schema';
export * from './json-file';
export * from './env';
