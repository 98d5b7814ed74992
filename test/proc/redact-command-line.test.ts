import { describe, expect, it } from 'vitest';
import { redactArgv, redactCommandLine as redactKey } from '../../src/proc/redact-command-line.js';

describe('redactCommandLine', () => {
  it('keeps the program, the package and plain arguments', () => {
    expect(redactKey('npm exec @modelcontextprotocol/server-filesystem /tmp --threads 4')).toBe(
      'npm exec @modelcontextprotocol/server-filesystem /tmp --threads 4',
    );
    expect(redactKey('uvx mcp-server-fetch --ignore-robots-txt')).toBe('uvx mcp-server-fetch --ignore-robots-txt');
  });

  it('masks the values of options whose names look secret, given with = or as the next word', () => {
    expect(redactKey('npm exec @acme/mcp-server-stripe --api-key=sk_live_51Habc')).toBe('npm exec @acme/mcp-server-stripe --api-key=***');
    expect(redactKey('npm exec @x/server --token abc123 --port 8080')).toBe('npm exec @x/server --token *** --port 8080');
    expect(redactKey('npm exec @x/server --client-secret s --password p --auth-header h')).toBe(
      'npm exec @x/server --client-secret *** --password *** --auth-header ***',
    );
  });

  it('masks every NAME=value word: an environment assignment in a shell line', () => {
    expect(redactKey('sh -c GITHUB_PERSONAL_ACCESS_TOKEN=ghp_abc123 npx -y @modelcontextprotocol/server-github')).toBe(
      'sh -c GITHUB_PERSONAL_ACCESS_TOKEN=*** npx -y @modelcontextprotocol/server-github',
    );
    expect(redactKey('env DEBUG=1 node server.js')).toBe('env DEBUG=*** node server.js');
  });

  it('masks the password of a URL, and secret-looking query values, keeping the rest of it', () => {
    expect(redactKey('npm exec @x/mcp-server-postgres postgresql://admin:Pa55w0rd@db.internal:5432/app')).toBe(
      'npm exec @x/mcp-server-postgres postgresql://admin:***@db.internal:5432/app',
    );
    expect(redactKey('npm exec @x/s https://tok3n@api.example.com/v1?api_key=k&region=eu')).toBe(
      'npm exec @x/s https://***@api.example.com/v1?api_key=***&region=eu',
    );
    expect(redactKey('npm exec @x/s --url=redis://:hunter2@cache:6379')).toBe('npm exec @x/s --url=redis://:***@cache:6379');
  });

  it('masks words that look like credentials on their own', () => {
    expect(redactKey('npm exec @x/s sk_test_4eC39HqLyjWDarjtT1zdp7dc')).toBe('npm exec @x/s ***');
    expect(redactKey('npm exec @x/s xoxb-1234-5678-abcd')).toBe('npm exec @x/s ***');
    expect(redactKey('npm exec @x/s AKIAIOSFODNN7EXAMPLE')).toBe('npm exec @x/s ***');
    expect(redactKey('npm exec @x/s 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b')).toBe('npm exec @x/s ***');
    // Long, but a path or a package: kept.
    expect(redactKey('node /root/.npm/_npx/0123456789abcdef/node_modules/.bin/mcp-server-everything')).toBe(
      'node /root/.npm/_npx/0123456789abcdef/node_modules/.bin/mcp-server-everything',
    );
  });
});

describe('redactArgv', () => {
  it('masks each word of an argv, and a NAME=value inside one', () => {
    expect(redactArgv(['node', 'app.js', '--api-key=sk_live_51H', 'sh -c TOKEN=abc node x'])).toEqual([
      'node',
      'app.js',
      '--api-key=***',
      'sh -c TOKEN=*** node x',
    ]);
  });
});
