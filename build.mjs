// Bundles src/ into one CommonJS file run by the image's own Node.
// koffi stays external: its JS does not survive CJS bundling and its native
// binary must sit in node_modules beside the bundle (engineering.md).

import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/metamcp-init.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['koffi'],
  // ps-list is ESM and reads import.meta.url, which a CJS bundle lacks: give it the bundle's own.
  banner: { js: "#!/usr/bin/env node\nconst __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { METAMCP_INIT_VERSION: JSON.stringify(version), 'import.meta.url': '__bundleUrl' },
  legalComments: 'none',
  logLevel: 'warning',
});
