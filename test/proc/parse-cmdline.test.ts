import { describe, expect, it } from 'vitest';
import { parseCmdline } from '../../src/proc/parse-cmdline.js';

describe('parseCmdline', () => {
  it('splits the arguments at NUL', () => {
    expect(parseCmdline('node\0server.js\0--port\x003000\0')).toEqual(['node', 'server.js', '--port', '3000']);
  });

  it("reads npm's title with its NUL padding as one argument", () => {
    expect(parseCmdline('npm exec @modelcontextprotocol/server-everything\0\0\0\0\0\0')).toEqual(['npm exec @modelcontextprotocol/server-everything']);
  });

  it('keeps empty arguments between others', () => {
    expect(parseCmdline('printf\0\0x\0')).toEqual(['printf', '', 'x']);
  });

  it('keeps the partial last argument of a command line cut short', () => {
    expect(parseCmdline('node\0/very/long/pa')).toEqual(['node', '/very/long/pa']);
  });

  it('reads an empty cmdline (a kernel thread or a zombie) as no arguments', () => {
    expect(parseCmdline('')).toEqual([]);
  });
});
