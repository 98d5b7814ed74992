import { describe, expect, it } from 'vitest';
import { commandKey } from '../../src/guard/command-key.js';
import { procsFromPsList, readProcsWithPsList } from '../../src/proc/read-ps-list.js';

describe('procsFromPsList (systems without /proc)', () => {
  it("maps ps output to the /proc model, with a command line that keys like /proc's", () => {
    const procs = procsFromPsList([{ pid: 42, ppid: 7, name: 'node', cmd: 'npm exec @modelcontextprotocol/server-memory', startTime: new Date(1_000_000) }]);
    expect(procs.get(42)).toMatchObject({ pid: 42, ppid: 7, pgid: -1, sid: -1, startTicks: 100_000, argv: ['npm exec @modelcontextprotocol/server-memory'] });
    expect(commandKey(procs.get(42)!.argv)).toBe('npm exec @modelcontextprotocol/server-memory');
  });

  it('reads this process through ps', async () => {
    const procs = await readProcsWithPsList();
    expect(procs.get(process.pid)?.ppid).toBe(process.ppid);
  });
});
