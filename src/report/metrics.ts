import { INSTANCE_STATES, type InstanceView, stateOfView } from '../guard/guard-stats.js';
import { STOP_ENDS, STOP_REASONS } from '../guard/stops.js';
import type { InitReport } from './init-report.js';
import type { MetricFamily, Sample } from './prometheus-text.js';

/** Keys get labels of their own up to this many (most instances first); the rest are summed as one. */
export const MAX_KEY_LABELS = 20;
/** The label of the keys beyond the first MAX_KEY_LABELS. */
export const OTHER_KEYS = '(other keys)';
/** Command keys are cut to this many characters in a label: a series name must stay small. */
const MAX_KEY_LABEL_CHARS = 160;

/** The metric families of one report, every name prefixed `metamcp_init_`. Pure. */
export function metricsOf(report: InitReport): MetricFamily[] {
  const { guard, cgroup } = report;
  const gauge = (name: string, help: string, samples: readonly Sample[]): MetricFamily => ({ name: `metamcp_init_${name}`, help, type: 'gauge', samples });
  const counter = (name: string, help: string, samples: readonly Sample[]): MetricFamily => ({ name: `metamcp_init_${name}`, help, type: 'counter', samples });
  const one = (value: number | undefined): Sample[] => (value === undefined ? [] : [{ value }]);
  const byKey = groupByKeyLabel(guard.instances);
  const scanAgeSeconds = guard.lastScanAtMs === undefined ? undefined : (report.atMs - guard.lastScanAtMs) / 1000;

  return [
    gauge('info', "The init's version and guard mode (value 1).", [{ labels: { version: report.version, guard: guard.mode }, value: 1 }]),
    gauge('start_time_seconds', 'When the init started, in seconds since the Unix epoch.', one(report.init.startedAtMs / 1000)),
    gauge('resident_memory_bytes', "The init's own resident memory.", one(report.init.rssBytes)),
    gauge('tasks', "The init's own tasks (threads): its share of pids.max.", one(report.init.tasks)),
    gauge('main_child_running', '1 while the main child runs.', [{ value: report.mainChild?.running ? 1 : 0 }]),
    gauge('healthy', '1 when /healthz answers 200.', [{ value: report.health.healthy ? 1 : 0 }]),
    counter('zombies_reaped_total', 'Zombies the init reaped (not counting the main child).', [{ value: report.zombiesReaped }]),
    counter(
      'signals_forwarded_total',
      'Signals forwarded to the main child, by signal.',
      Object.entries(report.signalsForwarded).map(([signal, value]) => ({ labels: { signal }, value })),
    ),
    gauge('cgroup_pids_current', 'pids.current of the cgroup with the tightest pids limit (tasks).', one(cgroup.pids?.currentTasks)),
    gauge('cgroup_pids_max', 'pids.max of that cgroup.', one(cgroup.pids?.maxTasks)),
    gauge(
      'cgroup_memory_working_set_bytes',
      'Memory usage minus inactive file cache, of the cgroup with the tightest memory limit.',
      one(cgroup.memory?.workingSetBytes),
    ),
    gauge('cgroup_memory_usage_bytes', 'Memory usage of that cgroup, page cache included.', one(cgroup.memory?.usageBytes)),
    gauge('cgroup_memory_limit_bytes', 'The memory limit of that cgroup.', one(cgroup.memory?.limitBytes)),
    gauge('guard_pids_high_mark', 'pids.current at which the guard starts stopping idle instances.', one(guard.limits.pids?.high)),
    gauge('guard_pids_critical_mark', 'pids.current from which the guard also stops busy and starting instances.', one(guard.limits.pids?.critical)),
    gauge('guard_memory_high_mark_bytes', 'Working set at which the guard starts stopping idle instances.', one(guard.limits.memory?.high)),
    gauge('guard_memory_critical_mark_bytes', 'Working set from which the guard also stops busy and starting instances.', one(guard.limits.memory?.critical)),
    counter('guard_scans_total', 'Completed scans of /proc and the cgroup.', [{ value: guard.scans }]),
    counter('guard_scan_errors_total', 'Scans that failed.', [{ value: guard.scanErrors }]),
    counter('guard_scan_seconds_total', 'Time spent in completed scans.', [{ value: guard.scanSecondsTotal }]),
    gauge(
      'guard_last_scan_duration_seconds',
      'How long the last completed scan took.',
      one(guard.lastScanDurationMs === undefined ? undefined : guard.lastScanDurationMs / 1000),
    ),
    gauge('guard_seconds_since_last_scan', 'Time since the last completed scan.', one(scanAgeSeconds)),
    gauge('guard_processes', 'Processes in the pid namespace at the last scan.', [{ value: guard.procs }]),
    gauge('guard_app_processes', "Of those, the app's: the main child's tree.", [{ value: guard.appProcs }]),
    gauge(
      'instances',
      `MCP instances by command key and state (${INSTANCE_STATES.join(', ')}); at most ${MAX_KEY_LABELS} keys, the rest as key="${OTHER_KEYS}".`,
      [...byKey].flatMap(([key, views]) =>
        INSTANCE_STATES.map((state) => ({ labels: { key, state }, value: views.filter((v) => stateOfView(v) === state).length })),
      ),
    ),
    gauge(
      'instance_tasks',
      'Tasks of the MCP instances of each key.',
      [...byKey].map(([key, views]) => ({ labels: { key }, value: sum(views, (v) => v.tasks) })),
    ),
    gauge(
      'instance_resident_memory_bytes',
      'Resident memory of the MCP instances of each key.',
      [...byKey].map(([key, views]) => ({ labels: { key }, value: sum(views, (v) => v.rssBytes) })),
    ),
    counter(
      'stops_total',
      'MCP instances the guard stopped (or, in a dry run, would have), by reason.',
      STOP_REASONS.map((reason) => ({ labels: { reason }, value: guard.stops[reason] ?? 0 })),
    ),
    counter(
      'stop_endings_total',
      'Stops that ended, by what ended them: close-stdin (the server exited on EOF once its stdin was closed), interrupt (the server ended on SIGINT alone, an exit the app may not count as a crash), terminate (TERM), kill (KILL after the stop grace), survived (left to run: the close could not be made or did not end it, and no crash to spend on a TERM, or the deadline of the stop came), gone (it had ended before any signal that could end it).',
      STOP_ENDS.map((ended) => ({ labels: { ended_by: ended }, value: guard.stopEnds[ended] ?? 0 })),
    ),
    gauge(
      'stdin_close_available',
      "1 while stops may close a server's stdin first (pidfd_getfd allowed, as the start-up probe found); 0 when the guard falls back to signals (see /status for why).",
      guard.stdinClose ? [{ value: guard.stdinClose.available ? 1 : 0 }] : [],
    ),
    counter('stops_failed_total', 'Stops that the kernel refused (EPERM) or that failed otherwise.', [{ value: guard.failedStops }]),
    counter('guard_holds_total', 'Starting instances held back (SIGSTOP) while a limit was at its high mark and more were starting than --max-starting.', [
      { value: guard.holds },
    ]),
    gauge('guard_held_instances', 'Starting instances held back now.', [{ value: guard.heldNow }]),
    gauge(
      'demand_exceeds_limit',
      "1 while the app's steady demand exceeds the limit: the guard keeps stopping instances the app holds to stay under it.",
      (['pids', 'memory'] as const).map((limit) => ({ labels: { limit }, value: guard.demand[limit] ? 1 : 0 })),
    ),
    gauge(
      'limit_needed',
      'While the demand exceeds a limit: the limit (tasks, or bytes) at which it would stay under the high mark with the same headroom.',
      (['pids', 'memory'] as const).flatMap((limit) => {
        const estimate = guard.demand[limit];
        return estimate ? [{ labels: { limit }, value: estimate.needed }] : [];
      }),
    ),
    counter('respawn_loops_total', 'Times a key was found being started over as fast as it was stopped (the guard then backs off).', [
      { value: guard.respawnLoops },
    ]),
  ];
}

/** Instances by key label: the keys with the most instances keep their own, the rest share one. */
function groupByKeyLabel(instances: readonly InstanceView[]): Map<string, InstanceView[]> {
  const byKey = new Map<string, InstanceView[]>();
  for (const view of instances) {
    const key = view.key.length > MAX_KEY_LABEL_CHARS ? `${view.key.slice(0, MAX_KEY_LABEL_CHARS - 1)}…` : view.key;
    const views = byKey.get(key);
    if (views) views.push(view);
    else byKey.set(key, [view]);
  }
  const ranked = [...byKey].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  const labelled = new Map(ranked.slice(0, MAX_KEY_LABELS));
  const rest = ranked.slice(MAX_KEY_LABELS).flatMap(([, views]) => views);
  if (rest.length > 0) labelled.set(OTHER_KEYS, rest);
  return labelled;
}

function sum(views: readonly InstanceView[], weigh: (view: InstanceView) => number): number {
  return views.reduce((total, view) => total + weigh(view), 0);
}
