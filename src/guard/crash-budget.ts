// Each key's crash budget: the stops the guard made of it that the app may have counted as
// crashes, spent as they are made and given back when they turn out clean. Pure.
import type { KeyRecord, Lesson } from './key-learning.js';
import type { Stop } from './stops.js';

/** An interrupt of an unknown key is spent as a crash; if the app kept the others, it was clean: given back. */
export function giveBackCleanCrashes(
  crashStopsByKey: ReadonlyMap<string, number>,
  lessons: readonly Lesson[],
  recordsBefore: ReadonlyMap<string, KeyRecord>,
): Map<string, number> {
  const counts = new Map(crashStopsByKey);
  for (const lesson of lessons) {
    if (lesson.endedBy !== 'interrupt' || lesson.closedAll) continue;
    const spent = counts.get(lesson.key) ?? 0;
    if (spent > 0 && recordsBefore.get(lesson.key)?.interrupt !== 'clean') counts.set(lesson.key, spent - 1);
  }
  return counts;
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
