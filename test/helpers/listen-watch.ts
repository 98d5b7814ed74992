// Watches for TCP LISTEN sockets that processes of a cgroup hold while a test runs: a stop
// must never open a port (no inspector, no debugger) in a launcher or anywhere in the run.
import { readdirSync, readlinkSync } from 'node:fs';
import { afterEach } from 'vitest';
import { readProcText } from '../../src/proc/read-file.js';
import type { PidsCgroup } from './cgroups.js';

/** The inodes of LISTEN sockets in this network namespace (/proc/net/tcp and tcp6, state 0A). */
function listenInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (readProcText(table) ?? '').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** The cgroup's processes that hold one of these sockets, as `pid: cmdline`. */
function holdersOf(inodes: ReadonlySet<string>, pids: readonly number[]): string[] {
  const holders: string[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode && inodes.has(inode)) holders.push(`${pid}: ${(readProcText(`/proc/${pid}/cmdline`, 'utf8') ?? '').replace(/\0/g, ' ').trim()}`);
    }
  }
  return holders;
}

const running = new Set<() => void>();
afterEach(() => {
  for (const stop of running) stop();
  running.clear();
});

/**
 * Polls every `everyMs` for LISTEN sockets that were not there at the start; those held by a
 * process of the cgroup are recorded. `stop` ends it and returns them, with the polls made.
 */
export function watchListenSockets(cgroup: PidsCgroup, everyMs = 20): { stop: () => { holders: string[]; polls: number } } {
  const before = listenInodes();
  const holders = new Set<string>();
  let polls = 0;
  const timer = setInterval(() => {
    polls += 1;
    const fresh = new Set([...listenInodes()].filter((inode) => !before.has(inode)));
    if (fresh.size === 0) return;
    try {
      for (const holder of holdersOf(fresh, cgroup.pids())) holders.add(holder);
    } catch {
      // The cgroup is gone: the test is over.
    }
  }, everyMs);
  const stop = () => clearInterval(timer);
  running.add(stop);
  return {
    stop: () => {
      stop();
      running.delete(stop);
      return { holders: [...holders], polls };
    },
  };
}
