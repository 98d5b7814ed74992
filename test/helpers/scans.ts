// Scan after scan of the guard's step on synthetic trees: what the rule tests run.
import type { KeyRecord } from '../../src/guard/key-learning.js';
import type { StepResult } from '../../src/guard/step.js';
import type { ProcInfo } from '../../src/proc/snapshot.js';
import { type GuardModel, makeNpmTree } from './snapshots.js';

export const pkgA = '@modelcontextprotocol/server-a';
export const pkgB = '@modelcontextprotocol/server-b';
export const keyOf = (pkg: string) => `npm exec ${pkg}`;

/** n trees of one package, launched one after another (older = smaller start ticks), at t ≈ 1-2 s. */
export function trees(n: number, pkg: string, firstPid: number, options: { cpuTicks?: number } = {}): ProcInfo[] {
  return Array.from({ length: n }, (_, i) => makeNpmTree(firstPid + i * 10, { pkg, ...options })).flat();
}

/** The same processes having used more CPU: a request went through them. */
export function used(procs: readonly ProcInfo[], ticks = 1): ProcInfo[] {
  return procs.map((proc) => ({ ...proc, cpuTicks: proc.cpuTicks + ticks }));
}

/** [launcher pid, reason] of each planned stop. */
export function stopped(plan: StepResult): [number, string][] {
  return plan.stops.map((stop) => [stop.instance.launcher.pid, stop.reason]);
}

/**
 * Scans every second from `fromMs` to `toMs`, as if each planned stop took effect at once
 * (its processes are gone from the next scan); returns every stop in order.
 */
export function runScans(
  model: GuardModel,
  procs: readonly ProcInfo[],
  fromMs: number,
  toMs: number,
): { stops: [number, string][]; loops: StepResult['loops'] } {
  const gone = new Set<number>();
  const stops: [number, string][] = [];
  const loops: StepResult['loops'] = [];
  for (let t = fromMs; t <= toMs; t += 1000) {
    const plan = model.scan(
      procs.filter((p) => !gone.has(p.pid)),
      { nowMs: t },
    );
    for (const stop of plan.stops) for (const member of stop.instance.members) gone.add(member.pid);
    stops.push(...stopped(plan));
    loops.push(...plan.loops);
  }
  return { stops, loops };
}

/** Scans the same processes every second from `fromMs` to `toMs`; returns the last plan. */
export function scanUntil(
  model: GuardModel,
  procs: readonly ProcInfo[],
  fromMs: number,
  toMs: number,
  input: Omit<Parameters<GuardModel['scan']>[1], 'nowMs'> = {},
): StepResult {
  let plan = model.scan(procs, { ...input, nowMs: fromMs });
  for (let t = fromMs + 1000; t <= toMs; t += 1000) plan = model.scan(procs, { ...input, nowMs: t });
  return plan;
}

/** What the guard would have learnt of a key from earlier stops, set directly. */
export function knowKey(model: GuardModel, pkg: string, record: KeyRecord): void {
  model.state = { ...model.state, records: new Map([...model.state.records, [keyOf(pkg), record]]) };
}
