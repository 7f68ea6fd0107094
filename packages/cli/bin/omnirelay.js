#!/usr/bin/env node
// omnirelay: runs the built CLI (../dist/main.js) when it exists; otherwise runs the TypeScript
// sources through @swc-node/register, so `npx omnirelay ...` works in the repository right after
// `npm install`, before any build. tsconfig.check.json maps @omnirelay/* to each package's src,
// so the SDK is loaded from source too.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const built = join(__dirname, '..', 'dist', 'main.js');
if (existsSync(built)) {
  require(built);
} else {
  process.env.SWC_NODE_PROJECT ??= join(__dirname, '..', '..', '..', 'tsconfig.check.json');
  require('@swc-node/register');
  require(join(__dirname, '..', 'src', 'main.ts'));
}
