// Reads the init's JSON log lines (pino, one object a line on stderr), and the guard's decisions among them.

/** The JSON log lines of an init's stderr (or a container's), parsed; other lines are left out. */
export function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Each stop the guard decided (`stopping …`), or would have in a dry run (`would stop …`). */
export function stopDecisions(lines: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return lines.filter((line) => /^(stopping|would stop) MCP instance \(/.test(String(line.msg)));
}
