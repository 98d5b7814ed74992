// Which command lines launch an MCP server.

/**
 * The default launcher patterns, matched against the command line (argv joined by
 * spaces): npm exec (npm's title, or its argv), npx, uvx, pipx run, and any command
 * naming an @modelcontextprotocol/ package or an mcp-server binary.
 */
export const DEFAULT_LAUNCHER_PATTERNS: readonly string[] = [
  '(^|[\\s/])npm(-cli\\.js)? exec(\\s|$)',
  '(^|[\\s/])npx(-cli\\.js)?(\\s|$)',
  '(^|[\\s/])uvx(\\s|$)',
  '(^|[\\s/])pipx run(\\s|$)',
  '@modelcontextprotocol/',
  'mcp-server',
];

/** Compiles patterns once (the CLI has already checked that each one compiles). */
export function compilePatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((pattern) => new RegExp(pattern));
}

/** Whether a command line matches any launcher pattern. */
export function isLauncherCommand(line: string, patterns: readonly RegExp[]): boolean {
  return patterns.some((pattern) => pattern.test(line));
}
