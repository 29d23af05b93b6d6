import { join, resolve } from 'node:path';

/** Where the CLI keeps stacks, engines and checkpoints: $CDC_HOME, else .cdc/ in the working directory. */
export function cdcHome(): string {
  return resolve(process.env.CDC_HOME ?? join(process.cwd(), '.cdc'));
}

export const stackDir = (): string => join(cdcHome(), 'stack');
export const enginesDir = (): string => join(cdcHome(), 'engines');
