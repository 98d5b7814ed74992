import { describe, expect, it } from 'vitest';
import { publishedCommand } from '../../src/proc/published-command.js';
import { LAUNCHER_SECRET_FORMS, MAIN_CHILD_SECRET_FORMS } from '../helpers/secret-forms.js';

const KEY = Buffer.alloc(16, 7);

describe('publishedCommand', () => {
  it('names a process by its program and its package or script word, nothing else', () => {
    expect(publishedCommand(['npm exec @modelcontextprotocol/server-sequential-thinking'], KEY)).toBe(
      'npm exec @modelcontextprotocol/server-sequential-thinking',
    );
    expect(publishedCommand(['node', 'dist/index.js'], KEY)).toBe('node dist/index.js');
    expect(publishedCommand(['uvx', 'mcp-server-fetch'], KEY)).toBe('uvx mcp-server-fetch');
    expect(publishedCommand(['npx', '-y', '@acme/mcp-server-x@1.2.0'], KEY)).toBe('npx @acme/mcp-server-x@1.2.0');
    expect(publishedCommand(['/bin/sh', '-c', 'API_KEY=x node app.js'], KEY)).toMatch(/^sh -c #[0-9a-f]{6}$/);
  });

  it.each(LAUNCHER_SECRET_FORMS)('publishes no secret of a launcher: $form', ({ args, secret }) => {
    const key = publishedCommand(['npm', 'exec', '@acme/mcp-server-x', ...args], KEY);
    expect(key).not.toContain(secret);
    expect(key).toMatch(/^npm exec @acme\/mcp-server-x #[0-9a-f]{6}$/);
  });

  it.each(MAIN_CHILD_SECRET_FORMS)("publishes no secret of the main child's argv: $form", ({ args, secret }) => {
    expect(publishedCommand(['node', 'app.js', ...args], KEY)).not.toContain(secret);
  });

  it('keeps one package run with other arguments apart, the same line the same, and hides the package word when it is not a name or a path', () => {
    const a = publishedCommand(['npm exec @acme/x --db a'], KEY);
    const b = publishedCommand(['npm exec @acme/x --db b'], KEY);
    expect(a).not.toBe(b);
    expect(publishedCommand(['npm exec @acme/x --db a'], KEY)).toBe(a);
    expect(publishedCommand(['npm exec @acme/x --db a'], Buffer.alloc(16, 8))).not.toBe(a);
    expect(publishedCommand(['uvx', '--from', 'git+https://u:S3CRET@host/x', 'mcp-x'], KEY)).not.toContain('S3CRET');
    expect(publishedCommand(['node', '-e', "fetch('https://h/?token=S3CRET')"], KEY)).not.toContain('S3CRET');
    expect(publishedCommand(['npm', 'exec', 'ghp_0123456789abcdefghij'], KEY)).not.toContain('ghp_');
  });

  // From an adversarial review of this function: forms that passed its first shape rules.
  it.each([
    ['a server binary whose first argument is its key', ['mcp-server-exa', '550e8400-e29b-41d4-a716-446655440000'], '550e8400'],
    ['a secret that a / makes look like a path', ['aws-mcp', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'], 'wJalr'],
    ['a short password', ['db-mcp', 'hunter2'], 'hunter2'],
    ['a user and a private host', ['ssh', 'alice@db.internal.acme.com', 'mcp-server'], 'alice'],
    ['a bare flag of another program, then its value', ['curl', '-y', 'hunter2'], 'hunter2'],
    ['a package spec that is user@host', ['npx', '-y', 'alice@private-host.corp/team/repo'], 'alice'],
    ['an e-mail address as a package', ['npx', '-y', 'alice.smith@example.com'], 'alice'],
    ['a token after a version @', ['npx', '-y', 'pkg@sk-ant-api03-abcdEFGH12-ijklMNOP34'], 'sk-ant'],
    ['a token inside a path segment', ['node', '/run/secrets/token-sk-live-abc/x.js'], 'sk-live'],
    ['an argv[0] that is a token', ['/run/secrets/sk-live-abc123', 'x'], 'sk-live'],
    ['an argv[0] with escape sequences', ['evil\u001b[2J\u001b[31mFAKE\nnext', 'a'], '\u001b'],
    ['an argv[0] of look-alike blanks', ['npm\u2800exec\u2800@acme\u2215trusted', '--evil'], '\u2800'],
    ['a line split by tabs', ['npx\t-y\t@pkg\t--api-key\tsk-live-XXXX'], 'sk-live'],
  ])('publishes none of %s', (_form, argv, secret) => {
    const published = publishedCommand(argv, KEY);
    expect(published).not.toContain(secret);
    expect(published).toMatch(/^[\x20-\x7e]*$/);
  });

  it('still shows the package or script of the runners: npx, uvx, node, python', () => {
    expect(publishedCommand(['npx', '-y', '@acme/mcp-server-x@^1.2.0'], KEY)).toBe('npx @acme/mcp-server-x@^1.2.0');
    expect(publishedCommand(['npx', '-y', '@acme/mcp-server-x@latest'], KEY)).toBe('npx @acme/mcp-server-x@latest');
    expect(publishedCommand(['node', '/root/.npm/_npx/a1/node_modules/@modelcontextprotocol/server-memory/dist/index.js'], KEY)).toBe(
      'node /root/.npm/_npx/a1/node_modules/@modelcontextprotocol/server-memory/dist/index.js',
    );
    expect(publishedCommand(['python3', 'server.py'], KEY)).toBe('python3 server.py');
    expect(publishedCommand(['mcp-server-fetch', '--port', '8080'], KEY)).toMatch(/^mcp-server-fetch #[0-9a-f]{6}$/);
  });
});
