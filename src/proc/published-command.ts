// How a command line leaves the init by default (logs, /metrics, /status): its program and its
// package or script word, and nothing else of it. MCP servers take their credentials on the
// command line in more forms than any list of patterns knows (`-H "Authorization: Bearer …"`,
// JSON arguments, DSNs, `-p secret`), so the rest of the argv is never published, as
// node_exporter publishes no command line at all. A short keyed hash of the whole line keeps
// two runs of one package with other arguments apart, and tells nothing of them: its key is
// drawn at random when the init starts, so the hash of a guessable argument cannot be looked up.
import { createHmac, randomBytes } from 'node:crypto';
import { basename, programWordCount } from './program-words.js';

// Shells: the word after `-c` is a script, which may hold anything.
const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'busybox']);
// Programs whose first word names what they run, a package or a script: the only ones whose
// next word is shown. Any other program's first argument may be its credential or its target
// (`mcp-server-exa <api key>`, `ssh user@host`).
const RUNNERS = /^(npm exec|pipx run|uv run|npx|bunx|uvx|pnpx|node|nodejs|deno|bun|python[0-9.]*|pypy[0-9.]*)$/;
// A program's name: ASCII letters, digits and `._+-`, as a binary is named.
const PROGRAM_WORD = /^[A-Za-z0-9._+-]{1,64}$/;
// A package name (scoped, with a semver range or a dist-tag) or a path whose segments are
// names (a scope at a segment's start): nothing else is shown, no `user@host`, no URL.
const SHOWN_WORD =
  /^(@[A-Za-z0-9._-]+\/)?[A-Za-z0-9._+-]+(@([0-9^~<>=*][0-9A-Za-z.^~<>=*+-]*|[A-Za-z][A-Za-z0-9_-]*))?$|^\.{0,2}\/?@?[A-Za-z0-9._+-]+(\/@?[A-Za-z0-9._+-]+)+\/?$/;
// Well-known credential prefixes anywhere after a separator, UUIDs, long digit runs, and runs of
// 20 or more letters and digits mixed (a hex or base64 token, `-` and `_` included): not shown.
const KNOWN_SECRET = /(^|[^A-Za-z0-9])((sk|pk|rk)_(live|test)_|sk-|gh[pousr]_|github_pat_|xox[abposr]-|AKIA|AIza|glpat-|eyJ|key[A-Z0-9])/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const DIGIT_RUN = /[0-9]{7,}/;
const OPAQUE_RUN = /[A-Za-z0-9+=_-]{20,}/g;

function isSecretShaped(word: string): boolean {
  if (KNOWN_SECRET.test(word) || UUID.test(word) || DIGIT_RUN.test(word)) return true;
  return (word.match(OPAQUE_RUN) ?? []).some((run) => /[0-9]/.test(run) && /[A-Za-z]/.test(run));
}

let processKey: Buffer | undefined;

/** The hash key of this process, drawn at its first use. */
function keyOfThisProcess(): Buffer {
  processKey ??= randomBytes(16);
  return processKey;
}

/**
 * The published name of a command line given as its words: `npm exec @acme/mcp-server-x #1f2e3d`,
 * `node dist/index.js`, `sh -c #a4b5c6`. The hash is there when words were left out.
 */
export function publishedCommand(words: readonly string[], key: Buffer = keyOfThisProcess()): string {
  const all = words.flatMap((word) => word.split(/\s+/)).filter((word) => word !== '');
  if (all.length === 0) return '';
  // A process picks its own argv[0]: a name that is not shaped like a program is not shown.
  const program = publishedProgramName(all[0]!);
  const shown = [program, ...all.slice(1, programWordCount(all))];
  let used = shown.length;
  if (SHELLS.has(program)) {
    if (all[1] === '-c') {
      shown.push('-c');
      used = 2;
    }
  } else if (RUNNERS.test(shown.join(' '))) {
    // Only a runner's next word names what it runs; any other program's arguments are its own,
    // the first of them as secret as the rest.
    const at = all.findIndex((word, index) => index >= used && !word.startsWith('-'));
    const word = at === -1 ? undefined : all[at];
    // Only where every word before it was an option of the program's own (`-y`, `--quiet`).
    if (word !== undefined && SHOWN_WORD.test(word) && !isSecretShaped(word) && all.slice(used, at).every(isBareFlag)) {
      shown.push(word);
      used = at + 1;
    }
  }
  if (used === all.length) return shown.join(' ');
  return `${shown.join(' ')} #${createHmac('sha256', key).update(all.join('\0')).digest('hex').slice(0, 6)}`;
}

/** A program's name as published: its basename where that is shaped like one and not like a token, else `?`. */
export function publishedProgramName(path: string): string {
  const name = basename(path);
  return PROGRAM_WORD.test(name) && !isSecretShaped(name) ? name : '?';
}

/** A runner's flag that takes no value (`-y`, `--yes`): the package word may follow it. */
function isBareFlag(word: string): boolean {
  return BARE_FLAGS.has(word);
}

// npx, npm exec, uvx and node flags that take no value: the package word may follow them.
const BARE_FLAGS = new Set(['-y', '--yes', '-q', '--quiet', '--no', '--prefer-offline', '--no-install', '--ignore-existing', '--isolated', '--offline']);
