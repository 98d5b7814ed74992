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
});
