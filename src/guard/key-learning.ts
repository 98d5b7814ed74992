// What the guard learns of each key from its own stops: whether closing its servers' stdin,
// or SIGINT to its servers, ends them cleanly in the app's eyes, and whether the app closes a key's other instances when
// one of them crashes. The guard cannot read an exit status it is not the parent of; it
// sees what the app does next. After a crash MetaMCP closes every instance of that server
// within a moment; after an exit 0 it leaves them alone. Pure.
import { endedClean, type StopCost, type StopEnd, type StopMethod } from './stops.js';

/** How long after a stop ended the guard watches its key's other instances. */
export const AFTERMATH_MS = 5000;
/**
 * How long after a stop that may be a crash another one of the key waits: MetaMCP closes the
 * key's other instances within a second of a crash (a few hundred ms here); an app that has
 * not done so by then is not going to.
 */
export const ANSWER_WAIT_MS = 2000;

/**
 * What SIGINT to a key's servers does: not tried yet (`unknown`); it ends them and the app
 * kept the key's other instances (`clean`); it ends them and the app closed the others, as
 * after a crash (`crash`); or it did not end them within its wait (`ignored`).
 */
export type InterruptVerdict = 'unknown' | 'clean' | 'crash' | 'ignored';

/** One instance the app held when the stop was made: the app's close of it is evidence. */
export type Sibling = { id: string; tasks: number; rssBytes: number };

/** A stop whose key's other instances are being watched. */
export type Aftermath = {
  method: StopMethod;
  endedBy: StopEnd;
  endedAtMs: number;
  siblings: readonly Sibling[];
  /** The stop was spent as a crash of the key's budget when it was made. */
  charged: boolean;
  /** A crash for sure of the key came with it (markAmidCrashes): the app closing them all may be its answer to that one, and says nothing. */
  amidCrash?: boolean;
};

/** What the guard knows of one key. */
export type KeyRecord = {
  interrupt: InterruptVerdict;
  /** The same for closing its stdin (undefined: not tried yet); `ignored`: the server read EOF and ran on. */
  stdinClose?: Exclude<InterruptVerdict, 'unknown'>;
  /** The app closed every other instance of the key after a crash of one (undefined: not seen yet). */
  crashFreesKey?: boolean;
  aftermath?: Aftermath;
};

export const UNKNOWN_KEY: KeyRecord = { interrupt: 'unknown' };

/** One thing learnt, for the log. */
export type Lesson = {
  key: string;
  method: StopMethod;
  endedBy: StopEnd;
  /** The stop was spent as a crash when it was made. */
  charged: boolean;
  /** The app closed all `siblings` after the stop (a crash to it), or kept some. */
  closedAll: boolean;
  siblings: number;
  kept: number;
  record: KeyRecord;
  /** The siblings the app closed itself, for the demand estimate. */
  closed: readonly Sibling[];
};

/**
 * A stop of the key ended: start watching what the app does with its other instances, unless
 * an earlier stop's aftermath is being watched (that one goes on: a later stop must not keep
 * pushing the answer back). An interrupt that did not end a settled tree (a TERM had to
 * follow) is `ignored` from now on. Of a stop made `amidCrash` (a crash for sure of its key
 * came with it), neither its ending nor the app closing the key's other instances says
 * anything: both may be the app's answer to that crash. Its other instances kept still do.
 */
export function recordStopEnded(
  record: KeyRecord,
  stop: {
    method: StopMethod;
    endedBy: StopEnd;
    siblings: readonly Sibling[];
    settled?: boolean;
    charged?: boolean;
    amidCrash?: boolean;
    /** The close could not be made (fd 0 not a socket, refused): it says nothing of the key. */
    unmade?: boolean;
  },
  nowMs: number,
): KeyRecord {
  // A tree that had gone before the stop reached it answered nothing.
  if (stop.endedBy === 'gone') return record;
  // Amid a crash for sure of its key, the app may have been closing the tree meanwhile: then a
  // stdin close sees the tree exit, and a TERM after a close finds it going.
  const amid = stop.amidCrash === true;
  // Only a settled server's answer to SIGINT says what the key's servers do: a tree still
  // starting may have no server to answer yet.
  const ignored = !amid && stop.method === 'interrupt' && stop.endedBy !== 'interrupt' && stop.settled !== false;
  const interrupt: InterruptVerdict = ignored ? 'ignored' : record.interrupt;
  // A stdin close that did not end the tree: its server read EOF and ran on.
  const closeIgnored = !amid && stop.unmade !== true && stop.method === 'close-stdin' && stop.endedBy !== 'close-stdin';
  const known = { ...record, interrupt, ...(closeIgnored ? { stdinClose: 'ignored' as const } : {}) };
  // A tree the stop left running tells the app nothing: there is no aftermath to watch.
  if (record.aftermath || stop.endedBy === 'survived') return known;
  const aftermath =
    stop.siblings.length > 0
      ? {
          method: stop.method,
          endedBy: stop.endedBy,
          endedAtMs: nowMs,
          siblings: stop.siblings,
          charged: stop.charged ?? (stop.method === 'terminate' || (stop.method === 'interrupt' && costOfStop(record) === 'crash')),
          ...(amid ? { amidCrash: true } : {}),
        }
      : undefined;
  const { aftermath: _previous, ...rest } = known;
  return { ...rest, ...(aftermath ? { aftermath } : {}) };
}

/**
 * Looks at the siblings of each watched stop. All gone: the app closed them, so the stop was
 * a crash to it (an interrupt of this key is one too) and a crash frees the whole key. Some
 * still there after AFTERMATH_MS: the app kept them (an interrupt was clean; a crash does not
 * free the key). A `crash` verdict stays: one is enough to know. Siblings the guard stopped
 * itself meanwhile are left out.
 */
export function observeAftermaths(
  records: ReadonlyMap<string, KeyRecord>,
  present: ReadonlySet<string>,
  stoppedByGuard: ReadonlySet<string>,
  nowMs: number,
): { records: Map<string, KeyRecord>; lessons: Lesson[] } {
  const next = new Map(records);
  const lessons: Lesson[] = [];
  for (const [key, record] of records) {
    const aftermath = record.aftermath;
    if (!aftermath) continue;
    // Siblings the guard stopped itself tell nothing of what the app does.
    const watched = { ...aftermath, siblings: aftermath.siblings.filter((sibling) => !stoppedByGuard.has(sibling.id)) };
    if (watched.siblings.length === 0) {
      const { aftermath: _dropped, ...rest } = record;
      next.set(key, rest);
      continue;
    }
    const kept = watched.siblings.filter((sibling) => present.has(sibling.id));
    const closedAll = kept.length === 0;
    // All closed after a stop that came with a crash for sure: the app's answer to either.
    if (closedAll && watched.amidCrash) {
      const { aftermath: _dropped, ...rest } = record;
      next.set(key, rest);
      continue;
    }
    const clean = endedClean(watched.endedBy);
    const waitedMs = nowMs - watched.endedAtMs;
    // A crash for sure (TERM, KILL) after which the app kept some of the others for as long as
    // it takes MetaMCP to close them: that app does not free a key after a crash. Said at
    // ANSWER_WAIT_MS, not AFTERMATH_MS: other stops of the key wait for this answer.
    const answeredEarly = !closedAll && !clean && waitedMs >= ANSWER_WAIT_MS;
    if (!closedAll && !answeredEarly && waitedMs < AFTERMATH_MS) continue;
    const verdictOf = (before: InterruptVerdict | undefined) => (closedAll || before === 'crash' ? 'crash' : 'clean');
    const interrupt = watched.endedBy === 'interrupt' ? verdictOf(record.interrupt) : record.interrupt;
    const stdinClose = watched.endedBy === 'close-stdin' ? verdictOf(record.stdinClose) : record.stdinClose;
    // A kept sibling says a crash does not free the key only when the stop was a crash for sure.
    const crashFreesKey = closedAll ? true : clean ? record.crashFreesKey : false;
    const learnt: KeyRecord = {
      interrupt,
      ...(stdinClose === undefined ? {} : { stdinClose }),
      ...(crashFreesKey === undefined ? {} : { crashFreesKey }),
    };
    next.set(key, learnt);
    lessons.push({
      key,
      method: watched.method,
      endedBy: watched.endedBy,
      charged: watched.charged,
      closedAll,
      siblings: watched.siblings.length,
      kept: kept.length,
      record: learnt,
      closed: closedAll ? watched.siblings : [],
    });
  }
  return { records: next, lessons };
}

/** A TERM to an instance the app holds: a crash to it for sure, whatever the key's record says. */
function isSureCrash(stop: { method: StopMethod; cost: StopCost }): boolean {
  return stop.method === 'terminate' && stop.cost !== 'free';
}

/** A stop under way, as far as telling its answer from another's goes. */
type StopAmid = { key: string; method: StopMethod; cost: StopCost; amidCrash?: boolean };

/**
 * The stops under way and the records, once the keys with a crash for sure are known: a TERM of
 * an instance the app holds under way, or one that ended less than ANSWER_WAIT_MS ago (MetaMCP
 * closes the key's instances a few hundred ms after). Of those keys, each stop under way that
 * asks for an exit 0 (a stdin close, an interrupt), and an aftermath watched after a stop
 * that ended cleanly, are marked `amidCrash`: the app's answer to the crash would be read as
 * theirs (recordStopEnded, observeAftermaths). Seen in the simulated storm: a clean stop and a
 * TERM of one key in one scan; the app closed the key after the TERM, the clean stop's tree
 * with it, and the guard took the clean way for ignored by that key from then on.
 */
export function markAmidCrashes<T extends StopAmid>(
  underWay: ReadonlyMap<string, T>,
  records: ReadonlyMap<string, KeyRecord>,
  nowMs: number,
): { underWay: Map<string, T>; records: ReadonlyMap<string, KeyRecord> } {
  const crashKeys = new Set([...underWay.values()].filter(isSureCrash).map((stop) => stop.key));
  for (const [key, record] of records) {
    const aftermath = record.aftermath;
    if (aftermath && !endedClean(aftermath.endedBy) && nowMs - aftermath.endedAtMs < ANSWER_WAIT_MS) crashKeys.add(key);
  }
  const marked = new Map(underWay);
  for (const [id, stop] of underWay)
    if (stop.method !== 'terminate' && crashKeys.has(stop.key) && !stop.amidCrash) marked.set(id, { ...stop, amidCrash: true });
  let next: Map<string, KeyRecord> | undefined;
  for (const key of crashKeys) {
    const record = records.get(key);
    if (!record?.aftermath || !endedClean(record.aftermath.endedBy) || record.aftermath.amidCrash) continue;
    next ??= new Map(records);
    next.set(key, { ...record, aftermath: { ...record.aftermath, amidCrash: true } });
  }
  return { underWay: marked, records: next ?? records };
}

/** Whether the guard is still watching what the app does after a stop of this key. */
export function isInAftermath(record: KeyRecord | undefined): boolean {
  return record?.aftermath !== undefined;
}

/**
 * Whether another stop of the key that may be a crash should wait for the app's answer to the
 * last one: it may close the whole key itself. Not when a crash was seen not to free the key,
 * and not past ANSWER_WAIT_MS.
 */
export function awaitsAnswer(record: KeyRecord | undefined, nowMs: number): boolean {
  const aftermath = record?.aftermath;
  return aftermath !== undefined && record?.crashFreesKey !== false && nowMs - aftermath.endedAtMs < ANSWER_WAIT_MS;
}

/**
 * What a stop of a settled instance of this key the app holds costs it, as far as the guard
 * knows: a stdin close is clean until the app is seen to count one, an interrupt once the app
 * was seen not to.
 */
export function costOfStop(record: KeyRecord | undefined, stdinClosable = false): 'clean' | 'crash' {
  const method = methodFor(record, stdinClosable);
  if (method === 'close-stdin') return 'clean';
  return method === 'interrupt' && record?.interrupt === 'clean' ? 'clean' : 'crash';
}

/**
 * How to stop a settled instance of this key the app holds: by closing its stdin where that can
 * be done, unless it was seen not to work; else SIGINT first unless it is known not to end it
 * cleanly.
 */
export function methodFor(record: KeyRecord | undefined, stdinClosable = false): StopMethod {
  if (stdinClosable && record?.stdinClose !== 'crash' && record?.stdinClose !== 'ignored') return 'close-stdin';
  return record?.interrupt === 'crash' || record?.interrupt === 'ignored' ? 'terminate' : 'interrupt';
}
