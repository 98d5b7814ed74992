// Where a command line's program ends: what launcher patterns match and what is published
// both start from its program and the word after it.

// Programs whose first argument names what they run: the package word follows both words.
const TWO_WORD_PROGRAMS = new Set(['npm exec', 'pipx run', 'uv run']);

/** How many of the words name the program: two for `npm exec`, `pipx run`, `uv run`, else one (none for no words). */
export function programWordCount(words: readonly string[]): number {
  if (words.length === 0) return 0;
  return words.length > 1 && TWO_WORD_PROGRAMS.has(`${basename(words[0]!)} ${words[1]}`) ? 2 : 1;
}

/** The last part of a path: `/usr/bin/npx` → `npx`. */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
