import { describe, expect, it } from 'vitest';
import { rootTestsEnabled, startInit } from '../helpers/start-init.js';

// `unshare --pid --fork` without `--mount-proc`: the init is PID 1 but /proc shows the parent
// namespace, whose pids are not its own. It used to reap nothing, judge strangers' processes,
// and end with "processes still present after SIGKILL" about 133 pids that were not its.
describe.runIf(rootTestsEnabled())('PID 1 with the /proc of another pid namespace', () => {
  it('says so once, uses no pid from it, still reaps its orphans and stops its child group', async () => {
    const run = startInit({
      mode: 'subreaper',
      prefix: ['unshare', '--pid', '--fork'],
      initArgs: ['--grace', '2s'],
      // The shell exits at once; its sleeps become the init's orphans, in the child's group.
      command: ['sh', '-c', 'sleep 0.3 & sleep 0.3 & sleep 30 & exit 0'],
    });
    expect((await run.exited).code).toBe(0);
    const lines = run.logLines();
    expect(lines.filter((line) => String(line.msg).includes('/proc belongs to another pid namespace'))).toHaveLength(1);
    expect(lines.some((line) => String(line.msg).includes('MCP instance'))).toBe(false);
    expect(run.stderr()).not.toContain('giving up');
    const last = lines.at(-1)!;
    expect(last).toMatchObject({ msg: 'main child exited; nothing left, exiting', left: 0, termed: 1 });
    // Two sleeps exited on their own and the third on TERM: all three reaped without /proc.
    expect(last.reaped).toBe(3);
  });
});
