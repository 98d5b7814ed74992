import type { CgroupFigures } from '../cgroup/figures.js';
import type { Stop } from './policy.js';

/** The structured evidence of one decision: what, why this one, and the figures behind it. */
export function describeStop(stop: Stop, cgroup: CgroupFigures, pageBytes: number, appIsMetaMcp: boolean) {
  const { instance, evidence } = stop;
  return {
    reason: stop.reason,
    key: instance.key,
    launcherPid: instance.launcher.pid,
    launcherAlive: instance.launcherAlive,
    orphaned: instance.orphaned,
    pids: instance.members.map((member) => member.pid),
    tasks: instance.tasks,
    rssBytes: instance.rssPages * pageBytes,
    ageMs: Math.round(evidence.ageMs),
    idleMs: Math.round(evidence.idleMs),
    starting: evidence.starting,
    busy: evidence.busy,
    instancesOfKey: evidence.instancesOfKey,
    // Spared: the other instances of this key that were busy or still starting.
    busyOfKey: evidence.busyOfKey,
    startingOfKey: evidence.startingOfKey,
    ...(evidence.pressure === undefined ? {} : { pressure: evidence.pressure }),
    why: explain(stop),
    ...(appIsMetaMcp && !instance.orphaned
      ? { app: 'MetaMCP counts this exit as a crash of the server (MCP_MAX_ATTEMPTS) and closes its other instances' }
      : {}),
    cgroup: {
      pidsCurrent: cgroup.pids?.currentTasks,
      pidsMax: cgroup.pids?.maxTasks,
      memoryWorkingSetBytes: cgroup.memory?.workingSetBytes,
      memoryLimitBytes: cgroup.memory?.limitBytes,
    },
  };
}

function explain({ reason, instance, evidence }: Stop): string {
  const idle = `idle ${seconds(evidence.idleMs)}`;
  switch (reason) {
    case 'orphan':
      return instance.launcherAlive ? 'its launcher lost its parent in the app' : 'its launcher died; nothing in the app can talk to it';
    case 'duplicate':
    case 'max-instances':
      return `over the cap and ${idle}; no instance of its key was busy or starting`;
    default:
      if (instance.orphaned) return 'nearing the limit: an orphan, which nobody can use';
      if (evidence.starting) return 'the trees still starting would, grown, pass the critical mark: the youngest goes first';
      if (evidence.pressure === 'critical') return `the limit is near: ${evidence.busy ? 'busy, but nothing idle was left' : `${idle}, the longest`}`;
      return `nearing the limit: ${idle}, the longest, and nobody was using its key`;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
