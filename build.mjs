// Bundles src/ into one CommonJS file run by the image's own Node.
// koffi stays external: its JS does not survive CJS bundling and its native
// binary must sit in node_modules beside the bundle (docs/facts.md).
//
//   node build.mjs              dist/metamcp-init.cjs
//   node build.mjs --metafile   also dist/metafile.json, and the bundle's bytes by package on stdout

import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/**
 * The node flags of the init, however it is started: docker/Dockerfile's ENTRYPOINT has the
 * same ones, and the bundle's first lines pass them when it is run as a program (the npm
 * bin, `npx metamcp-init`); test/integration/footprint.test.ts checks both. Flags on node's
 * command line are not inherited by the child, as NODE_OPTIONS would be.
 * --v8-pool-size=1: one V8 platform worker instead of 4 (0 would mean the CPUs less one):
 * the init idles at 5 tasks instead of 8, and every task counts against pids.max (docs/facts.md).
 */
const NODE_FLAGS = '--v8-pool-size=1';

// Run as a program, the file is a shell script for its first two lines: sh runs `:` and
// execs node with the flags on this same file (no extra process; node resolves the npm bin's
// symlink itself). Node skips the `#!` line and reads the next as a string and a comment.
// `#!/usr/bin/env -S node …` would do it in one line, but busybox env (Alpine) has no -S.
const SHEBANG = `#!/bin/sh\n":" //; exec node ${NODE_FLAGS} "$0" "$@"`;

/**
 * pino without its transports: they run in worker threads (thread-stream), which the init
 * never starts (pids.max counts them, docs/facts.md), and loading that machinery cost memory
 * at every start. Inside pino only: `pino.transport()` and the `transport` option throw; the
 * logger, its levels, serializers and `pino.destination()` are pino's own.
 */
const pinoWithoutTransports = {
  name: 'pino-without-transports',
  setup(pluginBuild) {
    const inPino = /[\\/]node_modules[\\/]pino[\\/]/;
    pluginBuild.onResolve({ filter: /^(\.\/lib\/transport|\.\/transport|worker_threads)$/ }, (args) =>
      inPino.test(args.importer) ? { path: args.path, namespace: 'pino-trimmed' } : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'pino-trimmed' }, (args) => ({
      loader: 'js',
      contents:
        args.path === 'worker_threads'
          ? // pino asks only whether it runs on the main thread; the init starts no worker.
            'module.exports = { isMainThread: true };'
          : "module.exports = function transport() { throw new Error('metamcp-init bundles pino without transports: it logs synchronously to stderr'); };",
    }));
  },
};

const OUTFILE = 'dist/metamcp-init.cjs';

const result = await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: OUTFILE,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['koffi'],
  plugins: [pinoWithoutTransports],
  // V8 keeps the whole source of the bundle in memory; without whitespace and with shorter
  // syntax it is 40% smaller. Names are kept, so that stack traces in the log stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  // ps-list is ESM and reads import.meta.url, which a CJS bundle lacks: give it the bundle's own.
  banner: { js: `${SHEBANG}\nconst __bundleUrl = require('node:url').pathToFileURL(__filename).href;` },
  define: { METAMCP_INIT_VERSION: JSON.stringify(version), 'import.meta.url': '__bundleUrl' },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: process.argv.includes('--metafile'),
});

// Executable, as npm makes a bin when it installs the package: `./dist/metamcp-init.cjs` runs too.
chmodSync(OUTFILE, 0o755);

if (result.metafile) {
  writeFileSync('dist/metafile.json', JSON.stringify(result.metafile));
  const bytes = new Map();
  for (const [path, input] of Object.entries(Object.values(result.metafile.outputs)[0].inputs)) {
    const name = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? (path.startsWith('src/') ? 'src' : path);
    bytes.set(name, (bytes.get(name) ?? 0) + input.bytesInOutput);
  }
  for (const [name, size] of [...bytes].sort((a, b) => b[1] - a[1])) console.log(`${String(size).padStart(8)}  ${name}`);
}
