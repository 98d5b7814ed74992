// Bundles src/ into one CommonJS file run by the image's own Node.
// koffi stays external: its JS does not survive CJS bundling and its native
// binary must sit in node_modules beside the bundle (engineering.md).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/metamcp-init.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['koffi'],
  banner: { js: '#!/usr/bin/env node' },
  define: { METAMCP_INIT_VERSION: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
});
