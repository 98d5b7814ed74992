// A flood of pipelined requests on the endpoint must not hold up what PID 1 is for: the
// review saw USR1 wait 4.5 s and zombies live 3.5 s while 16 connections pipelined /status.
import { connect } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readChildPids, readStat } from '../../src/proc/read-proc.js';
import { reportAddressOf } from '../helpers/report-client.js';
import { rootTestsEnabled, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

// The main child: prints "usr1 <ms>" at each USR1, and leaves an orphan that exits 50 ms later every 100 ms.
const APP = `
process.on('SIGUSR1', () => console.log('usr1 ' + Date.now()));
setInterval(() => require('child_process').spawn('sh', ['-c', 'sleep 0.05 & exit 0'], { stdio: 'ignore' }), 100);
console.log('ready');
`;
const PIPELINED = Buffer.from('GET /status HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2000));

describe.runIf(rootTestsEnabled())('the endpoint under a pipelining flood, as PID 1', () => {
  it('forwards every signal and reaps every zombie within half a second while 16 connections pipeline /status', async () => {
    // At debug level the init logs each signal it forwards, with the time it did so.
    const run = startInit({ mode: 'pid1', initArgs: ['--metrics-listen', '127.0.0.1:0', '--log-level', 'debug'], command: [process.execPath, '-e', APP] });
    const [host, port] = (await reportAddressOf(run)).split(':') as [string, string];
    await run.waitForStdout('ready');
    const init = await run.initRef();

    let flooding = true;
    let requestsWritten = 0;
    const flood = () => {
      if (!flooding) return;
      const socket = connect(Number(port), host, () => {
        socket.write(PIPELINED);
        requestsWritten += 2000;
      });
      socket.on('error', () => {});
      socket.on('data', () => {});
      socket.on('close', flood);
    };
    for (let i = 0; i < 16; i += 1) flood();
    onTestFinished(() => {
      flooding = false;
    });

    // Zombies in the namespace (children of PID 1 that exited), sampled every 10 ms: how long each lived.
    const zombieSince = new Map<string, number>();
    let longestZombieMs = 0;
    let zombiesSeen = 0;
    const sampler = setInterval(() => {
      const now = Date.now();
      const current = new Set<string>();
      // Only PID 1's own children: a scan of every process here every 10 ms took the CPU the init needs.
      for (const pid of readChildPids(init.pid) ?? []) {
        const proc = readStat(pid);
        if (proc?.state !== 'Z') continue;
        const key = `${proc.pid}/${proc.startTicks}`;
        current.add(key);
        if (!zombieSince.has(key)) {
          zombieSince.set(key, now);
          zombiesSeen += 1;
        }
      }
      for (const [key, since] of zombieSince) {
        if (current.has(key)) continue;
        longestZombieMs = Math.max(longestZombieMs, now - since);
        zombieSince.delete(key);
      }
    }, 10);
    onTestFinished(() => clearInterval(sampler));

    // From the kill to the init's forward of it: the child's own scheduling on two busy cores is not the init's.
    const latencies: number[] = [];
    const forwarded = () => run.logLines().filter((line) => line.msg === 'forwarded signal' && line.signal === 'SIGUSR1');
    for (let i = 1; i <= 20; i += 1) {
      const sentAt = Date.now();
      await run.signal('SIGUSR1');
      const line = await waitFor(() => forwarded()[i - 1], { timeoutMs: 10_000, what: `USR1 #${i} forwarded` });
      latencies.push(Date.parse(line.time as string) - sentAt);
      // One every 150 ms: 3 s of flood, in which about 30 orphans exit.
      await waitFor(() => Date.now() >= sentAt + 150, { what: '150 ms to pass' });
    }
    await waitFor(() => run.stdout().toString().split('usr1 ').length - 1 === 20, { timeoutMs: 10_000, what: 'the 20 USR1 at the child' });
    flooding = false;
    console.log(
      `pipelining flood: ${requestsWritten} requests written; USR1 forwarded after ${Math.max(...latencies)} ms at most (median ${latencies.sort((a, b) => a - b)[10]} ms); ${zombiesSeen} zombies seen, the longest ${longestZombieMs} ms`,
    );
    expect(requestsWritten).toBeGreaterThan(16 * 2000);
    // Held up by the flood is seconds (4.5 s, 3.5 s); quiet, both stay under 30 ms and 100 ms.
    // With two busy loops on two cores a zombie was seen for 109 ms, the sampler itself
    // waiting for a CPU: the bound sits between scheduling and being held up.
    expect(Math.max(...latencies)).toBeLessThan(500);
    // Sampled every 10 ms: a zombie seen for 500 ms lived at least 490.
    expect(longestZombieMs).toBeLessThan(500);
    await run.signal('SIGTERM');
    await run.exited;
    // Orphans did exit all along: the init reaped them, about one every 100 ms.
    const last = run.logLines().find((line) => String(line.msg).startsWith('main child exited'));
    expect(last?.reaped as number).toBeGreaterThanOrEqual(10);
  });
});
