// Each key's crash budget: the stops the guard made of it that the app may have counted as
// crashes, spent as they are made and given back when they turn out clean. Pure.
import type { Lesson } from './key-learning.js';
import { endedClean, type Stop, type StopEnd } from './stops.js';

/**
 * Settles what the app's answer to an exit 0 (an interrupt, an exit request) says it cost. One
 * spent as a crash (a key not known to end cleanly) after which the app kept the others was
 * clean: given back. One expected to be clean after which the app closed them all was a crash
 * after all: spent now.
 */
export function settleInterrupts(crashStopsByKey: ReadonlyMap<string, number>, lessons: readonly Lesson[]): Map<string, number> {
  const counts = new Map(crashStopsByKey);
  for (const lesson of lessons) {
    if (!endedClean(lesson.endedBy)) continue;
    const spent = counts.get(lesson.key) ?? 0;
    if (lesson.charged && !lesson.closedAll && spent > 0) counts.set(lesson.key, spent - 1);
    if (!lesson.charged && lesson.closedAll) counts.set(lesson.key, spent + 1);
  }
  return counts;
}

/**
 * Settles what a stop's ending says it cost. One expected to cost nothing that ended by TERM or
 * KILL was a crash to the app: spent now. One spent as a crash whose tree had gone before any
 * signal (`gone`: the app closed it, or it ended of itself) was no crash of the guard's: given back.
 */
export function settleStopEnd(
  counts: ReadonlyMap<string, number>,
  key: string,
  stop: { charged: boolean; orphan: boolean; endedBy: StopEnd },
): ReadonlyMap<string, number> {
  const spent = counts.get(key) ?? 0;
  if (stop.endedBy === 'gone') return stop.charged && spent > 0 ? new Map(counts).set(key, spent - 1) : counts;
  if (stop.charged || stop.orphan || endedClean(stop.endedBy) || stop.endedBy === 'survived') return counts;
  return new Map(counts).set(key, spent + 1);
}

/** Spends a crash of its key for each stop that may be one (none in a dry run); returns the keys whose budget this spent to the end. */
export function spendCrashes(counts: Map<string, number>, stops: readonly Stop[], settings: { dryRun: boolean; crashBudget?: number }): string[] {
  const budgetSpent: string[] = [];
  if (settings.dryRun) return budgetSpent;
  for (const stop of stops) {
    if (stop.evidence.cost !== 'crash') continue;
    const spent = (counts.get(stop.instance.key) ?? 0) + 1;
    counts.set(stop.instance.key, spent);
    if (spent === settings.crashBudget) budgetSpent.push(stop.instance.key);
  }
  return budgetSpent;
}
