import { INSTANCE_STATES, type InstanceView, stateOfView } from '../guard/guard-stats.js';
import type { InitReport, LimitReport } from './init-report.js';
import { printable } from './printable.js';

/** Keys longer than this are cut, so that a row fits a terminal. */
const KEY_COLUMN_CHARS = 72;

/**
 * The report as a person reads it: the init and its health, the limits, the instances
 * grouped by key, and the last stops with their reasons. Every control character in it is
 * shown as an escape: command lines and the endpoint's answer are not the terminal's to obey.
 * Pure.
 */
export function formatStatus(report: InitReport): string {
  const { guard, init, mainChild } = report;
  const lines: string[] = [];
  const rss = init.rssBytes === undefined ? '' : `, RSS ${bytes(init.rssBytes)}`;
  const tasks = init.tasks === undefined ? '' : `, ${init.tasks} tasks`;
  lines.push(`metamcp-init ${report.version}, pid ${init.pid}, up ${duration(report.atMs - init.startedAtMs)}${rss}${tasks}`);
  lines.push(`health:     ${report.health.healthy ? report.health.state : `NOT OK (${report.health.state})`}: ${report.health.reason}`);
  const child = mainChild
    ? `pid ${mainChild.pid}, ${mainChild.running ? 'running' : `exited${mainChild.exitCode === undefined ? '' : ` with status ${mainChild.exitCode}`}`}`
    : 'not started';
  const signals = Object.entries(report.signalsForwarded).map(([signal, count]) => `${signal} x${count}`);
  lines.push(
    `main child: ${child}${report.shuttingDown ? ', shutting down' : ''}; ${report.zombiesReaped} zombies reaped; signals forwarded: ${signals.length === 0 ? 'none' : signals.join(', ')}`,
  );
  const pids = report.cgroup.pids;
  const memory = report.cgroup.memory;
  lines.push(`pids:       ${pids ? `${pids.currentTasks} of ${pids.maxTasks ?? 'no limit'}${marks(guard.limits.pids, String)}` : 'no pids cgroup'}`);
  lines.push(
    `memory:     ${memory ? `${bytes(memory.workingSetBytes)} of ${memory.limitBytes === undefined ? 'no limit' : bytes(memory.limitBytes)}${marks(guard.limits.memory, bytes)}` : 'no memory cgroup'}`,
  );
  if (guard.mode === 'off') {
    lines.push(`guard:      off${guard.offReason ? ` (${guard.offReason})` : ''}`);
    return printed(lines);
  }
  const lastScan =
    guard.lastScanAtMs === undefined
      ? 'no scan yet'
      : `last scan ${duration(report.atMs - guard.lastScanAtMs)} ago, took ${(guard.lastScanDurationMs ?? 0).toFixed(1)} ms`;
  const errors = guard.scanErrors === 0 ? '' : `, ${guard.scanErrors} failed scans (last: ${guard.lastScanError})`;
  lines.push(
    `guard:      ${guard.mode === 'dry-run' ? 'dry run (stops nothing)' : 'on'}; ${lastScan}; ${guard.procs} processes, ${guard.appProcs} of them the app's${errors}`,
  );
  if (guard.stdinClose)
    lines.push(
      `stops:      ${guard.stdinClose.available ? "close a server's stdin first" : `by signals only (stdin close unavailable: ${guard.stdinClose.why})`}`,
    );

  lines.push('', `MCP instances: ${guard.instances.length}${guard.maxInstances === undefined ? '' : ` (cap ${guard.maxInstances})`}`);
  const rows = [...groupByKey(guard.instances)].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  if (rows.length > 0) {
    // The key last: it is the one long cell, and the figures stay aligned before it.
    const header = ['N/CAP', 'STATES', 'IDLE FOR', 'TASKS', 'RSS', 'AGE', 'KEY'];
    const body = rows.map(([key, views]) => {
      const settled = views.filter((v) => !v.starting && !v.stopping);
      return [
        `${views.length}/${guard.maxPerCommand ?? '-'}`,
        statesOf(views),
        settled.length === 0 ? '-' : duration(maxOf(settled, (v) => v.idleMs)),
        String(views.reduce((total, v) => total + v.tasks, 0)),
        bytes(views.reduce((total, v) => total + v.rssBytes, 0)),
        duration(maxOf(views, (v) => v.ageMs)),
        cut(key),
      ];
    });
    lines.push(...table([header, ...body]));
  }

  const stopped = Object.entries(guard.stops).map(([reason, count]) => `${reason} ${count}`);
  lines.push(
    '',
    `Stops: ${stopped.length === 0 ? 'none' : stopped.join(', ')}${guard.failedStops > 0 ? `; ${guard.failedStops} failed` : ''}${guard.respawnLoops > 0 ? `; ${guard.respawnLoops} respawn loop${guard.respawnLoops === 1 ? '' : 's'} backed off` : ''}`,
  );
  if (guard.holds > 0) lines.push(`Held back while starting (SIGSTOP): ${guard.holds} in all, ${guard.heldNow} now`);
  const endings = Object.entries(guard.stopEnds ?? {}).map(([ended, count]) => `${ENDINGS[ended as keyof typeof ENDINGS] ?? ended} ${count}`);
  if (endings.length > 0) lines.push(`  ended: ${endings.join(', ')}`);
  for (const stop of guard.recentStops.slice().reverse()) {
    const how = stop.endedBy ? `, ${ENDINGS[stop.endedBy]}` : stop.dryRun ? '' : `, ${SENT[stop.method]}`;
    lines.push(
      `  ${duration(report.atMs - stop.atMs)} ago: ${stop.dryRun ? 'would stop' : 'stopped'} pid ${stop.launcherPid} (${stop.reason}${how}), ${cut(stop.key)}`,
    );
    lines.push(`    ${stop.why}`);
  }
  const learnt = guard.learnt ?? [];
  if (learnt.length > 0) {
    lines.push('', 'Learnt from stops:');
    for (const key of learnt) lines.push(`  ${LEARNT[key.interrupt]}${key.crashFreesKey ? '; a crash of one closes them all' : ''}: ${cut(key.key)}`);
  }
  return printed(lines);
}

function printed(lines: readonly string[]): string {
  return `${lines.map(printable).join('\n')}\n`;
}

const SENT = { 'close-stdin': 'stdin closed', interrupt: 'SIGINT sent', terminate: 'TERM sent' } as const;

const ENDINGS = {
  'close-stdin': 'on EOF, exit 0',
  interrupt: 'on SIGINT',
  terminate: 'on TERM',
  kill: 'by KILL',
  survived: 'not: the stdin close or SIGINT did not end it',
  gone: 'not by the guard: the app or the tree ended it first',
} as const;
const LEARNT = {
  unknown: 'SIGINT not tried yet',
  clean: 'SIGINT ends its servers cleanly',
  crash: 'SIGINT ends its servers, as a crash to the app',
  ignored: 'SIGINT does not end its servers',
} as const;

/** How many instances are in each state, e.g. `1 busy, 2 idle`. */
function statesOf(views: readonly InstanceView[]): string {
  return INSTANCE_STATES.map((state) => [state, views.filter((v) => stateOfView(v) === state).length] as const)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `${count} ${state}`)
    .join(', ');
}

function marks(limit: LimitReport | undefined, show: (value: number) => string): string {
  return limit ? ` (the guard acts from ${show(limit.high)}, stops anything from ${show(limit.critical)})` : '';
}

function groupByKey(instances: readonly InstanceView[]): Map<string, InstanceView[]> {
  const byKey = new Map<string, InstanceView[]>();
  for (const view of instances) {
    const views = byKey.get(view.key);
    if (views) views.push(view);
    else byKey.set(view.key, [view]);
  }
  return byKey;
}

/** Left-aligned columns, two spaces apart. */
function table(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, column) => maxOf(rows, (row) => row[column]!.length));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  );
}

function cut(key: string): string {
  return key.length > KEY_COLUMN_CHARS ? `${key.slice(0, KEY_COLUMN_CHARS - 1)}…` : key;
}

/** 850ms, 12.3s, 4m05s, 2h03m, 3d04h. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const pad = (n: number) => String(Math.floor(n)).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${pad((s % 86400) / 3600)}h`;
}

/** 512 B, 1.5 KiB, 48.1 MiB, 3.9 GiB. */
export function bytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let amount = value;
  let unit = 0;
  while (amount >= 1024 && unit < units.length - 1) {
    amount /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${amount} B` : `${amount.toFixed(1)} ${units[unit]}`;
}

/** The largest of the figures, by a loop: a spread of hundreds of thousands of arguments overflows the stack. */
function maxOf<T>(items: readonly T[], figure: (item: T) => number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const item of items) max = Math.max(max, figure(item));
  return max;
}
