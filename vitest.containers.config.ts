import { defineConfig } from 'vitest/config';
import { alias, plugins } from './vitest.config';

/**
 * The container tests, apart from `npm test` because they need a Docker engine and the images
 * (`npm run images`); docs/containers.md says how to run them, .ci/run runs both projects:
 *   compose         docker-compose.yml + docker-compose.host.yml up, keys of every type in, items out, down;
 *   e2e-containers  end-to-end files on engines started as containers (CDC_TEST_ENGINES=containers): one per
 *                   stage, chosen for time: capture, applier and verifier (pipeline), the applier as a module
 *                   (example-consumer), capture's rejections (oversized), the CLI and the verifier app
 *                   (status), the three deployables (apps-boot). The files that start private redis-servers
 *                   or DynamoDB Locals of their own are left to the native run.
 */
// Settings for machines with no bridge network and no registry (docs/containers.md), harmless elsewhere: Ryuk's
// image may not be pullable (the suites remove their own containers; .ci/run removes leftovers by the label
// org.testcontainers=true), and with /.dockerenv present testcontainers would look for a bridge gateway. Set
// before vitest forks its workers, which inherit them. The engines of e2e-containers are containers.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';
process.env.CDC_TEST_ENGINES ??= 'containers';

const CONTAINER_E2E_FILES = [
  'test/e2e/pipeline.e2e-spec.ts',
  'test/e2e/example-consumer.e2e-spec.ts',
  'test/e2e/oversized.e2e-spec.ts',
  'test/e2e/status.e2e-spec.ts',
  'test/e2e/apps-boot.e2e-spec.ts',
];

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    reporters: ['default'],
    globalSetup: ['test/setup/global-setup.ts'],
    projects: [
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'compose',
          include: ['test/containers/**/*.compose-spec.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'e2e-containers',
          include: CONTAINER_E2E_FILES,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
