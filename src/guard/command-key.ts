// The identity of an MCP server's command line, shared by its duplicates.
import { basename, programWordCount } from '../proc/program-words.js';

const NODE_NAMES = new Set(['node', 'nodejs']);
const NPM_SCRIPTS: Record<string, string[]> = {
  npx: ['npm', 'exec'],
  'npx-cli.js': ['npm', 'exec'],
  npm: ['npm'],
  'npm-cli.js': ['npm'],
};
// npm exec flags that do not change which server runs.
const NPM_EXEC_NOISE = new Set(['-y', '--yes', '-q', '--quiet', '--no']);

/**
 * Normalizes a command line to the key its duplicates share. npm rewrites its argv to
 * one title string (`npm exec @pkg args`), so `npx -y @pkg args`, `node …/npx-cli.js -y
 * @pkg args` and that title all become `npm exec @pkg args`.
 */
export function commandKey(argv: readonly string[]): string {
  // Every argument split at whitespace: npm's title is one string, and a process may give its
  // argv[0] spaces of its own (`npx -y @pkg` as one word), which must not make a path of it.
  let words = dropEnvPrefix(argv.join(' ').split(/\s+/).filter(Boolean));
  if (words.length > 1 && NODE_NAMES.has(basename(words[0]!)) && basename(words[1]!) in NPM_SCRIPTS) {
    words = words.slice(1);
  }
  if (words.length === 0) return '';
  const program = basename(words[0]!);
  words = [...(NPM_SCRIPTS[program] ?? [program]), ...words.slice(1)];
  if (words[0] === 'npm' && words[1] === 'exec') {
    words = ['npm', 'exec', ...words.slice(2).filter((word) => !NPM_EXEC_NOISE.has(word))];
    if (words[2] === '--') words.splice(2, 1);
  }
  return words.join(' ');
}

/**
 * What a process runs, as the launcher patterns see it: its program and its package word,
 * the first word after the program that is not an option (`npm exec @acme/server-x`, `uvx
 * mcp-server-fetch`, `node /app/dist/index.js`), never the rest of its argv. An app started
 * with `--config /app/mcp-servers.json` is `node /app/dist/index.js` here, not a launcher.
 */
export function launcherIdentity(argv: readonly string[]): string {
  const words = commandKey(argv).split(' ').filter(Boolean);
  const programWords = programWordCount(words);
  const packageWord = words.slice(programWords).find((word) => !word.startsWith('-'));
  return [...words.slice(0, programWords), ...(packageWord === undefined ? [] : [packageWord])].join(' ');
}

// A `#!/usr/bin/env node` script such as npx starts as `/usr/bin/env node /usr/bin/npx …`
// until env execs node: the same launcher, so the same key. env's own options and
// VAR=value assignments come before the program.
function dropEnvPrefix(words: string[]): string[] {
  if (words.length < 2 || basename(words[0]!) !== 'env') return words;
  let next = 1;
  while (next < words.length && (words[next]!.startsWith('-') || words[next]!.includes('='))) next += 1;
  return words.slice(next);
}
