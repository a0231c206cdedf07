#!/usr/bin/env node
'use strict';
// Thin launcher: the compiled CLI lives in dist/ (run `npm run build` first).
const path = require('node:path');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli.js');
try {
  require.resolve(entry);
} catch {
  console.error('clinical-ai: not built yet; run `npm run build` (or `npm ci`, which builds) first');
  process.exit(2);
}
require(entry).main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => { console.error(`clinical-ai: ${err && err.message ? err.message : err}`); process.exit(1); },
);
