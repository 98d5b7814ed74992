// Which processes launch an MCP server, by what they run (command-key.ts launcherIdentity).
import { RE2JS } from 're2js';
import { CMDLINE_LIMIT_BYTES } from '../proc/parse-cmdline.js';

/**
 * The default launcher patterns, matched against a process's program and package word
 * (`npm exec @pkg`, `uvx mcp-server-fetch`, `node /path/script.js`), never the rest of its
 * argv: npm exec (npm's title, or its argv), npx, uvx, pipx run, and any program or package
 * naming an @modelcontextprotocol/ package or an mcp-server binary (the word, not `metamcp-server`).
 */
export const DEFAULT_LAUNCHER_PATTERNS: readonly string[] = [
  '(^|[\\s/])npm(-cli\\.js)? exec(\\s|$)',
  '(^|[\\s/])npx(-cli\\.js)?(\\s|$)',
  '(^|[\\s/])uvx(\\s|$)',
  '(^|[\\s/])pipx run(\\s|$)',
  '@modelcontextprotocol/',
  // As a word of its own (mcp-server-fetch, @acme/mcp-server-x, github-mcp-server), not inside
  // another (an app named metamcp-server).
  '(^|[\\s/@_.-])mcp-server',
];

/**
 * A launcher pattern: a RegExp, so the guard's types stay as they are, whose matching runs
 * on RE2 (re2js) in time linear in the line. V8's backtracking engine takes minutes on
 * `(a+)+$` against 34 `a`s and a `b`, and any process in the container picks its own
 * command line (issue 8). Every RegExp method that matches (test, match, replace, …)
 * goes through exec, which is RE2's here.
 */
class LinearRegExp extends RegExp {
  readonly #re2: RE2JS;

  constructor(pattern: string) {
    super(pattern);
    this.#re2 = RE2JS.compile(RE2JS.translateRegExp(pattern));
  }

  override test(line: string): boolean {
    return this.#re2.test(line);
  }

  override exec(line: string): RegExpExecArray | null {
    return this.#re2.exec(line) as RegExpExecArray | null;
  }
}

/**
 * Compiles one pattern for linear-time matching, or throws why it cannot be: not a
 * regular expression, or one that needs backtracking (backreferences, lookaround).
 */
export function compilePattern(pattern: string): RegExp {
  try {
    return new LinearRegExp(pattern);
  } catch (error) {
    const reason = (error as Error).message.replace(/^error parsing regexp: /, '');
    throw new Error(`'${pattern}' is not a regular expression that runs in linear time (no backreferences or lookaround): ${reason}`);
  }
}

/** Compiles patterns once (the CLI has already checked that each one compiles). */
export function compilePatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map(compilePattern);
}

// Each distinct command line is matched once, not on every scan: a command line is fixed
// once a process has exec'd, and most scans see the same processes as the last one.
const MEMO_LIMIT_CHARS = 4 * 1024 * 1024;
const memos = new WeakMap<readonly RegExp[], { results: Map<string, boolean>; chars: number }>();

/** Whether a launcher identity (only its first 4 KiB count) matches any launcher pattern. */
export function isLauncherCommand(line: string, patterns: readonly RegExp[]): boolean {
  const bounded = line.length > CMDLINE_LIMIT_BYTES ? line.slice(0, CMDLINE_LIMIT_BYTES) : line;
  let memo = memos.get(patterns);
  if (!memo) {
    memo = { results: new Map(), chars: 0 };
    memos.set(patterns, memo);
  }
  const known = memo.results.get(bounded);
  if (known !== undefined) return known;
  const matched = patterns.some((pattern) => pattern.test(bounded));
  // Bounded memory: the oldest lines go first (a Map iterates in insertion order).
  for (const [oldest] of memo.results) {
    if (memo.chars + bounded.length <= MEMO_LIMIT_CHARS) break;
    memo.results.delete(oldest);
    memo.chars -= oldest.length;
  }
  memo.results.set(bounded, matched);
  memo.chars += bounded.length;
  return matched;
}
