import { describe, expect, it } from 'vitest';
import { looksLikeMetaMcp } from '../../src/guard/metamcp.js';

describe('looksLikeMetaMcp', () => {
  it("knows MetaMCP's backend by its working directory in the image", () => {
    expect(looksLikeMetaMcp(['node', 'dist/index.js'], '/app/apps/backend')).toBe(true);
  });

  it('knows it by its command line, run from elsewhere', () => {
    expect(looksLikeMetaMcp(['node', '/srv/apps/backend/dist/index.js'], '/')).toBe(true);
    expect(looksLikeMetaMcp(['sh', '/opt/metamcp/start.sh'], undefined)).toBe(true);
  });

  it('does not take another Node service for it', () => {
    expect(looksLikeMetaMcp(['node', 'dist/index.js'], '/srv/api')).toBe(false);
  });

  it('does not guess from a working directory it could not read', () => {
    expect(looksLikeMetaMcp(['node', 'dist/index.js'], undefined)).toBe(false);
  });
});
