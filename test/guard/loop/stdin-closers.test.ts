import { mkdirSync, symlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StdinClosers } from '../../../src/guard/loop/stdin-closers.js';
import type { StdinCloseGrant } from '../../../src/proc/close-stdin.js';
import type { ProcInfo } from '../../../src/proc/snapshot.js';
import { useFakeRoot } from '../../helpers/fake-root.js';
import { makeProc } from '../../helpers/snapshots.js';

const fake = useFakeRoot();
const ALLOWED: StdinCloseGrant = { available: true };

/** A fake /proc/PID/fd/0 pointing at `link`, as the kernel shows a socket (`socket:[N]`) or a pipe. */
function stdinOf(pid: number, link: string): void {
  mkdirSync(`${fake.root}/${pid}/fd`, { recursive: true });
  symlinkSync(link, `${fake.root}/${pid}/fd/0`);
}

const procsOf = (...procs: ProcInfo[]) => new Map(procs.map((proc) => [proc.pid, proc]));

describe('StdinClosers', () => {
  it('says a launcher may be closed when its stdin is a socket and the probe allowed it, never for a pipe', () => {
    stdinOf(100, 'socket:[4242]');
    stdinOf(200, 'pipe:[77]');
    const closers = new StdinClosers(ALLOWED, fake.root, () => {});
    const closable = closers.forScan(procsOf(makeProc(100), makeProc(200)));
    expect(closable({ pid: 100, startTicks: 100 })).toBe(true);
    expect(closable({ pid: 200, startTicks: 200 })).toBe(false);
    expect(closable({ pid: 300, startTicks: 300 })).toBe(false);
  });

  it('closes nothing when the probe found the call refused, or there is no /proc', () => {
    stdinOf(100, 'socket:[4242]');
    const refused = new StdinClosers({ available: false, why: 'EPERM' }, fake.root, () => {});
    expect(refused.forScan(procsOf(makeProc(100)))({ pid: 100, startTicks: 100 })).toBe(false);
    const noProc = new StdinClosers(ALLOWED, undefined, () => {});
    expect(noProc.grant.available).toBe(false);
  });

  it('remembers a launcher whose socket the app shares while it lives, and forgets it once gone', () => {
    stdinOf(100, 'socket:[4242]');
    const closers = new StdinClosers(ALLOWED, fake.root, () => {});
    closers.learn({ pid: 100, startTicks: 100 }, 'shared', undefined);
    expect(closers.forScan(procsOf(makeProc(100)))({ pid: 100, startTicks: 100 })).toBe(false);
    // The pid taken by another process: that one is asked afresh.
    expect(closers.forScan(procsOf(makeProc(100, { startTicks: 555 })))({ pid: 100, startTicks: 555 })).toBe(true);
  });

  it('takes a refusal at a stop for every launcher from then on, and says so once', () => {
    stdinOf(100, 'socket:[4242]');
    stdinOf(200, 'socket:[4343]');
    const said: string[] = [];
    const closers = new StdinClosers(ALLOWED, fake.root, (grant) => said.push(grant.why));
    closers.learn({ pid: 100, startTicks: 100 }, 'refused', 1);
    closers.learn({ pid: 200, startTicks: 200 }, 'refused', 1);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('EPERM');
    expect(closers.grant.available).toBe(false);
    expect(closers.forScan(procsOf(makeProc(200)))({ pid: 200, startTicks: 200 })).toBe(false);
  });
});
