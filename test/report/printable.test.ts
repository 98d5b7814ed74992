import { describe, expect, it } from 'vitest';
import { printable, printableJson } from '../../src/report/printable.js';

describe('printable', () => {
  it('shows C0 and C1 controls, DEL and text-reordering characters as escapes, and leaves the rest', () => {
    expect(printable('\u001b]0;OWNED\u0007\u001b[2J\u001b[H ok')).toBe('\\x1b]0;OWNED\\x07\\x1b[2J\\x1b[H ok');
    expect(printable('a\u009bb\u007fc\u202ed\ne')).toBe('a\\x9bb\\x7fc\\u202ed\\x0ae');
    expect(printable('npm exec @modelcontextprotocol/server-é 100%\ttab')).toBe('npm exec @modelcontextprotocol/server-é 100%\ttab');
  });

  it('escapes in JSON text what JSON leaves raw and a terminal acts on (C1, bidi, line separators): the same JSON still', () => {
    const value = { key: 'npm exec \u009b31m\u0085x\u202eevil\u2028y' };
    const json = printableJson(JSON.stringify(value, null, 2));
    for (const c of ['\u009b', '\u0085', '\u202e', '\u2028']) expect(json.includes(c)).toBe(false);
    expect(json).toContain('\\u009b');
    expect(JSON.parse(json)).toEqual(value);
  });
});
