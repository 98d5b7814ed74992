import { describe, expect, it } from 'vitest';
import { commandKey } from '../../src/guard/command-key.js';

describe('commandKey', () => {
  const key = 'npm exec @modelcontextprotocol/server-filesystem /data';

  it.each([
    ["npm's one-string title", ['npm exec @modelcontextprotocol/server-filesystem /data']],
    ['npm exec argv', ['npm', 'exec', '@modelcontextprotocol/server-filesystem', '/data']],
    ['npx -y', ['npx', '-y', '@modelcontextprotocol/server-filesystem', '/data']],
    ['npx by path', ['/usr/local/bin/npx', '--yes', '@modelcontextprotocol/server-filesystem', '/data']],
    ['node running npx-cli.js', ['node', '/usr/local/lib/node_modules/npm/bin/npx-cli.js', '-y', '@modelcontextprotocol/server-filesystem', '/data']],
    ['npm exec --', ['npm', 'exec', '--', '@modelcontextprotocol/server-filesystem', '/data']],
    ['the env shebang of npx', ['/usr/bin/env', 'node', '/usr/bin/npx', '-y', '@modelcontextprotocol/server-filesystem', '/data']],
    ['env with options and assignments', ['env', '-i', 'HOME=/root', 'npx', '-y', '@modelcontextprotocol/server-filesystem', '/data']],
  ])('gives the same key for %s', (_name, argv) => {
    expect(commandKey(argv)).toBe(key);
  });

  it('tells servers and arguments apart', () => {
    expect(commandKey(['npx', '-y', '@modelcontextprotocol/server-filesystem', '/other'])).not.toBe(key);
    expect(commandKey(['npx', '-y', '@modelcontextprotocol/server-memory', '/data'])).not.toBe(key);
  });

  it('keeps other commands as they are, with the program by its name', () => {
    expect(commandKey(['/usr/bin/uvx', 'mcp-server-fetch'])).toBe('uvx mcp-server-fetch');
    expect(commandKey(['pipx', 'run', 'mcp-server-git'])).toBe('pipx run mcp-server-git');
  });
});
