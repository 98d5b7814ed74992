import { describe, expect, it } from 'vitest';
import { compilePattern, compilePatterns, DEFAULT_LAUNCHER_PATTERNS, isLauncherCommand } from '../../src/guard/launcher-patterns.js';

describe('launcher patterns', () => {
  // Each of these takes V8's backtracking engine minutes (or more) on such a line.
  it.each(['(a+)+$', '(a|a)*$', '(a|aa)+$', '(\\w+\\s?)*$', '(.*a){20}$'])('matches %s in linear time, on a line built to make it backtrack', (pattern) => {
    const patterns = compilePatterns([pattern]);
    for (const line of [`${'a'.repeat(34)}b`, `${'a'.repeat(4095)}b`, `${'a '.repeat(2000)}!`]) {
      const startMs = performance.now();
      isLauncherCommand(line, patterns);
      expect(performance.now() - startMs).toBeLessThan(1000);
    }
  });

  it('still matches as a regex does, through test, exec and String methods', () => {
    const [npx] = compilePatterns([DEFAULT_LAUNCHER_PATTERNS[1]!]);
    expect(npx!.test('node /usr/lib/node_modules/npm/bin/npx-cli.js -y @x/y')).toBe(true);
    expect(npx!.test('node server.js')).toBe(false);
    expect('npx -y foo'.match(npx!)?.index).toBe(0);
    expect(npx).toBeInstanceOf(RegExp);
  });

  it('tells default launchers from other commands', () => {
    const patterns = compilePatterns(DEFAULT_LAUNCHER_PATTERNS);
    expect(isLauncherCommand('npm exec @modelcontextprotocol/server-everything', patterns)).toBe(true);
    expect(isLauncherCommand('uvx mcp-server-fetch', patterns)).toBe(true);
    expect(isLauncherCommand('node /app/dist/index.js', patterns)).toBe(false);
    // mcp-server as a word of its own, not inside an app's name.
    expect(isLauncherCommand('node /usr/local/bin/github-mcp-server', patterns)).toBe(true);
    expect(isLauncherCommand('npm exec @acme/mcp-server-stripe', patterns)).toBe(true);
    expect(isLauncherCommand('node /app/metamcp-server.js', patterns)).toBe(false);
  });

  it('looks at the first 4 KiB of a command line only', () => {
    const patterns = compilePatterns(['mcp-server']);
    expect(isLauncherCommand(`node ${'x'.repeat(5000)} mcp-server`, patterns)).toBe(false);
    expect(isLauncherCommand(`node mcp-server ${'x'.repeat(5000)}`, patterns)).toBe(true);
  });

  it.each(['(a)\\1', 'a(?=b)', '(?<!x)y', '('])('rejects %s, which needs backtracking or does not compile, saying why', (pattern) => {
    expect(() => compilePattern(pattern)).toThrow(/linear time/);
  });
});
