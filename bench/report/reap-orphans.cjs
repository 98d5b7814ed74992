// The child for the reaping benchmark, run under PID 1 of its own pid namespace: makes N
// orphans (a shell forks N `sleep` and exits, so they are reparented to PID 1), SIGKILLs them
// all at once, and times until PID 1 has no child left but this one, alive or zombie. It polls
// /proc/1/task/*/children (one small read a thread), not the whole of /proc, so that its own
// polling takes little from the init it measures. Prints {"orphans":N,"reapMs":…,"pid1CpuMs":…},
// the last PID 1's CPU time meanwhile (clock ticks of 10 ms).
const { spawnSync } = require('node:child_process');
const { readdirSync, readFileSync } = require('node:fs');

const count = Number(process.argv[2] ?? 2000);

/** utime + stime of PID 1, all its threads, in ms. */
function cpuMsOfPid1() {
  const stat = readFileSync('/proc/1/stat', 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function childrenOfPid1() {
  const pids = [];
  for (const tid of readdirSync('/proc/1/task')) {
    try {
      for (const word of readFileSync(`/proc/1/task/${tid}/children`, 'latin1').split(' ')) if (word) pids.push(Number(word));
    } catch {
      // The thread ended.
    }
  }
  return pids.filter((pid) => pid !== process.pid);
}

spawnSync('sh', ['-c', `i=0; while [ $i -lt ${count} ]; do sleep 100000 & i=$((i+1)); done`], { stdio: 'inherit' });
let orphans = childrenOfPid1();
for (let tries = 0; orphans.length < count && tries < 500; tries += 1) orphans = childrenOfPid1();
const cpuBefore = cpuMsOfPid1();
const start = process.hrtime.bigint();
for (const pid of orphans) process.kill(pid, 'SIGKILL');
while (childrenOfPid1().length > 0);
const reapMs = Number(process.hrtime.bigint() - start) / 1e6;
process.stdout.write(`${JSON.stringify({ orphans: orphans.length, reapMs: Number(reapMs.toFixed(2)), pid1CpuMs: cpuMsOfPid1() - cpuBefore })}\n`);
