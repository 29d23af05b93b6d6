#!/usr/bin/env node
'use strict';
// The `cdc` bin: runs the built CLI (npm install builds it through the `prepare` script).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const main = join(root, 'dist', 'apps', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`cdc: the CLI is not built (${main} is missing). Run: npm run build\n`);
  process.exit(1);
}
process.env.CDC_HOME = process.env.CDC_HOME || join(root, '.cdc');
// We run on Node 20 (the supported runtime here); the SDK's advance notice about Node 22 is in the README.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require(main);
