import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC instead of esbuild: esbuild drops decorator metadata, and Nest's injection needs it.
// Exported for vitest.containers.config.ts: both resolve @cdc/* to the libs' sources the same way.
export const plugins = [swc.vite({ module: { type: 'es6' } })];
const libs = [
  'contracts',
  'parity',
  'config',
  'observability',
  'redis',
  'kafka',
  'dynamo',
  'stack',
  'capture',
  'applier',
  'verifier',
  'testing',
];
export const alias = Object.fromEntries(
  libs.map((lib) => [`@cdc/${lib}`, resolve(__dirname, `libs/${lib}/src`)]),
);

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    reporters: ['default'],
    // Once for the whole run; it starts engines only when the integration or e2e project is selected.
    globalSetup: ['test/setup/global-setup.ts'],
    projects: [
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'test/unit/**/*.spec.ts'],
          environment: 'node',
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['test/integration/**/*.int-spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e-spec.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
