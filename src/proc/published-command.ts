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
// A package name (with a version), a module name or a path: nothing else is shown.
const SHOWN_WORD = /^(@[A-Za-z0-9._-]+\/)?[A-Za-z0-9._+-]+(@[A-Za-z0-9.^~<>=*_-]+)?$|^\.{0,2}\/?[A-Za-z0-9._+@-]+(\/[A-Za-z0-9._+@-]+)+\/?$/;
// Well-known credential prefixes, and runs of 20 or more letters and digits mixed with no
// separator (a hex or base64 token): not shown even when shaped like a package or a path.
const KNOWN_SECRET = /(^|\/)((sk|pk|rk)_(live|test)_|sk-|gh[pousr]_|github_pat_|xox[abposr]-|AKIA|AIza|glpat-|eyJ)/;
const OPAQUE_RUN = /[A-Za-z0-9+=]{20,}/g;

function isSecretShaped(word: string): boolean {
  return KNOWN_SECRET.test(word) || (word.match(OPAQUE_RUN) ?? []).some((run) => /[0-9]/.test(run) && /[A-Za-z]/.test(run));
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
  const all = words.flatMap((word) => word.split(' ')).filter((word) => word !== '');
  if (all.length === 0) return '';
  const program = basename(all[0]!);
  const shown = [program, ...all.slice(1, programWordCount(all))];
  let used = shown.length;
  if (SHELLS.has(program)) {
    if (all[1] === '-c') {
      shown.push('-c');
      used = 2;
    }
  } else {
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

/** A flag with no value of its own in the word (`-y`, `--yes`), which takes none after it either, as far as can be told. */
function isBareFlag(word: string): boolean {
  return /^--?[A-Za-z][A-Za-z0-9-]*$/.test(word) && BARE_FLAGS.has(word);
}

// npx, npm exec, uvx and node flags that take no value: the package word may follow them.
const BARE_FLAGS = new Set(['-y', '--yes', '-q', '--quiet', '--no', '--prefer-offline', '--no-install', '--ignore-existing', '--isolated', '--offline']);
