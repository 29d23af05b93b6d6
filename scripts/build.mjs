// Builds every deployable into dist/apps/<app>/main.js (Nest CLI, webpack, node_modules external).
// Run by `npm run build`, and by `prepare` so `npm install` leaves a runnable `npx cdc`.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const nest = require.resolve('@nestjs/cli/bin/nest.js');
const apps = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['cli', 'capture', 'applier', 'verifier', 'profiles-consumer'];

for (const app of apps) {
  const started = Date.now();
  const { status } = spawnSync(process.execPath, [nest, 'build', app], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (status !== 0) {
    process.stderr.write(`build: ${app} failed (run \`npx nest build ${app}\` to see why)\n`);
    process.exit(status ?? 1);
  }
  process.stderr.write(`build: dist/apps/${app}/main.js (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
