export * from './item-layout';
export * from './normalise';
export * from './compare';
export { encodeText, decodeText, ESCAPE_PREFIX } from './text-escape';
