import type { CgroupFigures } from '../cgroup/figures.js';
import type { DemandEstimate } from './demand.js';
import type { Lesson } from './key-learning.js';
import type { Stop } from './stops.js';

/** The structured evidence of one decision: what, why this one, how, what it costs, and the figures behind it. */
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
    ...(evidence.projected === undefined ? {} : { projected: Math.round(evidence.projected) }),
    ...(evidence.awaited ? { awaited: true } : {}),
    method: stop.method,
    cost: evidence.cost,
    why: explain(stop),
    ...(appIsMetaMcp && !instance.orphaned ? { app: appView(stop) } : {}),
    cgroup: {
      pidsCurrent: cgroup.pids?.currentTasks,
      pidsMax: cgroup.pids?.maxTasks,
      memoryWorkingSetBytes: cgroup.memory?.workingSetBytes,
      memoryLimitBytes: cgroup.memory?.limitBytes,
    },
  };
}

/** The stops that end in an exit 0, as a lesson says them. */
const CLEAN_ENDING: Partial<Record<Lesson['endedBy'], string>> = {
  'close-stdin': 'its server exited on EOF when its stdin was closed',
  interrupt: 'its server ended on SIGINT',
};

/** What the guard learnt from the app's answer to one of its stops, for its log line. */
export function describeLesson(lesson: Lesson) {
  const { record } = lesson;
  return {
    key: lesson.key,
    method: lesson.method,
    endedBy: lesson.endedBy,
    siblings: lesson.siblings,
    kept: lesson.kept,
    interrupt: record.interrupt,
    ...(record.stdinClose === undefined ? {} : { stdinClose: record.stdinClose }),
    ...(record.crashFreesKey === undefined ? {} : { crashFreesKey: record.crashFreesKey }),
    why: lesson.closedAll
      ? `the app closed all ${lesson.siblings} other instances of the key after the stop: to it, the stop was a crash${CLEAN_ENDING[lesson.endedBy] ? `, though ${CLEAN_ENDING[lesson.endedBy]}` : ''}`
      : `the app kept ${lesson.kept} of the ${lesson.siblings} other instances of the key${CLEAN_ENDING[lesson.endedBy] ? `: ${CLEAN_ENDING[lesson.endedBy]}, which the guard uses from now on` : ''}`,
  };
}

/** The figures of a demand that exceeds a limit, for its log line. */
export function describeDemand(estimate: DemandEstimate) {
  return { ...estimate, why: demandWhy(estimate) };
}

function demandWhy(e: DemandEstimate): string {
  const unit = e.limit === 'pids' ? 'tasks' : 'bytes';
  return (
    `in the last minute the guard had to stop ${e.forcedStops} instances the app held, or could stop nothing it may past the critical mark, to keep ${e.limit} under ${e.limitAmount} ${unit}; ` +
    `with them${e.waiting > 0 ? ` and the ${e.waiting} ${unit} the starts held back would take` : ''} the app would hold at least ${e.demand} ${unit} (${e.instances} instances of ${e.keys} servers, about ${e.perTree} ${unit} a tree). ` +
    `Raise the limit to about ${e.needed}, or have the app close what it does not use (MetaMCP: a session lifetime)`
  );
}

function appView(stop: Stop): string {
  if (stop.method === 'close-stdin')
    return 'its stdin is closed, as an MCP client ends a stdio server: it exits 0 on EOF, MetaMCP counts no crash, and keeps the other instances';
  if (stop.evidence.cost === 'clean') return 'its servers end cleanly on SIGINT: MetaMCP sees an exit 0, counts no crash, and keeps the other instances';
  return stop.method === 'interrupt'
    ? 'SIGINT to its server first: an exit 0 is no crash to MetaMCP; any other exit is one (MCP_MAX_ATTEMPTS) and closes its other instances'
    : 'MetaMCP counts this exit as a crash of the server (MCP_MAX_ATTEMPTS) and closes its other instances';
}

function explain({ reason, instance, evidence }: Stop): string {
  const idle = `idle ${seconds(evidence.idleMs)}`;
  switch (reason) {
    case 'orphan':
      return instance.launcherAlive ? 'its launcher lost its parent in the app' : 'its launcher died; nothing in the app can talk to it';
    case 'duplicate':
    case 'max-instances':
      return `over the cap and ${idle}; no instance of its key was busy or starting, and ${evidence.cost === 'clean' ? 'its stop is an exit 0' : 'the app tolerates crashes (--app-tolerates-crashes)'}`;
    default:
      if (instance.orphaned) return 'nearing the limit: an orphan, which nobody can use';
      if (evidence.starting) return 'the trees still starting would, grown, pass the critical mark: the youngest goes first';
      if (evidence.pressure === 'critical') return `the limit is near: ${evidence.busy ? 'busy, but nothing idle was left' : `${idle}, the longest`}`;
      if (evidence.pressure === 'urgent')
        return `the projection reaches the limit: ${idle}, the longest${evidence.cost === 'clean' ? '' : ', and a crash costs less than the kernel refusing forks'}`;
      return `nearing the limit: ${idle}, the longest, and ${evidence.cost === 'clean' ? 'its stop is an exit 0' : 'the app tolerates crashes (--app-tolerates-crashes)'}`;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
