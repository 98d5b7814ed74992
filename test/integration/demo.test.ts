// The README's first command: the demo runs every scene to its verdict, and a stop in it opens
// no debugger (Node prints "Debugger listening" when an inspector listens in one of its processes).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DEMO = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));

describe('npm run demo', () => {
  it('passes every scene, and no process of it opens a debugger', async () => {
    const demo = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    demo.stdout.on('data', (chunk) => {
      output += chunk;
    });
    demo.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => demo.once('exit', resolve));
    expect(output).not.toMatch(/Debugger (listening|attached)/);
    expect(output).not.toContain('FAILED');
    expect(code, output.slice(-3000)).toBe(0);
  }, 180_000);
});
