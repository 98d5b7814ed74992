// Reads the guard's decisions out of the init's JSON log lines.

/** Each stop the guard decided (`stopping …`), or would have in a dry run (`would stop …`). */
export function stopDecisions(lines: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return lines.filter((line) => /^(stopping|would stop) MCP instance \(/.test(String(line.msg)));
}
