import { readProcText } from '../proc/read-file.js';
import type { CgroupDir, CgroupDirs, CgroupFigures, CgroupVersion, MemoryFigures, PidsFigures } from './figures.js';

// cgroup v1 writes "no limit" as the largest page-aligned int64 (9223372036854771712);
// anything from 2^62 up cannot be a real limit.
const V1_NO_LIMIT_BYTES = 2 ** 62;

type MemoryFiles = { usage: string; limit: string; inactiveFileKeys: readonly string[] };

const MEMORY_FILES: Record<CgroupVersion, MemoryFiles> = {
  // total_inactive_file counts the whole subtree, as usage_in_bytes does.
  1: { usage: 'memory.usage_in_bytes', limit: 'memory.limit_in_bytes', inactiveFileKeys: ['total_inactive_file', 'inactive_file'] },
  2: { usage: 'memory.current', limit: 'memory.max', inactiveFileKeys: ['inactive_file'] },
};

/**
 * Reads pids and memory figures of the init's cgroup, reporting for each the tightest
 * limit from its own level up to the mount point. A handful of small synchronous reads.
 */
export function readCgroupFigures(dirs: CgroupDirs, fsRoot = ''): CgroupFigures {
  const figures: CgroupFigures = {};
  const pids = dirs.pids && readPidsFigures(dirs.pids, fsRoot);
  if (pids) figures.pids = pids;
  const memory = dirs.memory && readMemoryFigures(dirs.memory, fsRoot);
  if (memory) figures.memory = memory;
  return figures;
}

/**
 * The figures with a pids limit the operator gave (--pids-max): the tighter of it and the
 * cgroup's own applies. For a limit the init cannot see, such as Kubernetes' podPidsLimit on
 * the pod's cgroup above the container's. Without a pids controller nothing counts tasks.
 */
export function withPidsMax(figures: CgroupFigures, pidsMax: number | undefined): CgroupFigures {
  if (pidsMax === undefined || figures.pids === undefined) return figures;
  return { ...figures, pids: { ...figures.pids, maxTasks: Math.min(figures.pids.maxTasks ?? Infinity, pidsMax) } };
}

/** pids.current of one cgroup directory: one small read, for fast polling. */
export function readPidsCurrent(dir: string, fsRoot = ''): number | undefined {
  return parseCount(readProcText(`${fsRoot}${dir}/pids.current`));
}

/**
 * The memory working set of one cgroup directory, for fast polling: one small read of usage,
 * which bounds the working set from above, and memory.stat only when usage is at least
 * exactFromBytes. Exact from there on; below it, usage.
 */
export function pollWorkingSet(dir: CgroupDir, exactFromBytes: number, fsRoot = ''): number | undefined {
  const files = MEMORY_FILES[dir.version];
  const usageBytes = parseCount(readProcText(`${fsRoot}${dir.dir}/${files.usage}`));
  if (usageBytes === undefined || usageBytes < exactFromBytes) return usageBytes;
  return workingSetOf(usageBytes, readInactiveFileBytes(`${fsRoot}${dir.dir}/memory.stat`, files) ?? 0);
}

/** A limit file's value: a count, Infinity for no limit (`max`, or v1's huge value), undefined when unparsable. */
export function parseLimit(text: string): number | undefined {
  const value = text.trim();
  if (value === 'max') return Infinity;
  const limit = parseCount(value);
  if (limit === undefined) return undefined;
  return limit >= V1_NO_LIMIT_BYTES ? Infinity : limit;
}

/** The value of one key of memory.stat (`key value` lines), or undefined when absent. */
export function parseMemoryStat(text: string, key: string): number | undefined {
  const prefix = `${key} `;
  // At a line start only: inactive_file must not match total_inactive_file.
  const at = text.startsWith(prefix) ? 0 : text.indexOf(`\n${prefix}`) + 1;
  if (at === 0 && !text.startsWith(prefix)) return undefined;
  const end = text.indexOf('\n', at);
  return parseCount(text.slice(at + prefix.length, end < 0 ? text.length : end));
}

// The cgroup directories from a dir up to its mount point, both included, innermost first.
function listLevels(dir: string, mountPoint: string): string[] {
  const levels = [dir];
  let level = dir;
  while (level !== mountPoint && level.startsWith(`${mountPoint}/`)) {
    level = level.slice(0, level.lastIndexOf('/'));
    levels.push(level);
  }
  return levels;
}

function readPidsFigures(cgroup: CgroupDir, fsRoot: string): PidsFigures | undefined {
  let own: PidsFigures | undefined;
  let tightest: PidsFigures | undefined;
  let tightestRoomTasks = Infinity;
  for (const dir of listLevels(cgroup.dir, cgroup.mountPoint)) {
    const currentTasks = readPidsCurrent(dir, fsRoot);
    if (currentTasks === undefined) {
      if (dir === cgroup.dir) return undefined;
      continue;
    }
    if (dir === cgroup.dir) own = { currentTasks, dir };
    const maxTasks = parseText(readProcText(`${fsRoot}${dir}/pids.max`), parseLimit);
    if (maxTasks === undefined || maxTasks === Infinity) continue;
    // Strictly smaller: on a tie the inner level, whose dir holds the init, is reported.
    if (maxTasks - currentTasks < tightestRoomTasks) {
      tightestRoomTasks = maxTasks - currentTasks;
      tightest = { currentTasks, maxTasks, dir };
    }
  }
  return tightest ?? own;
}

// The headroom compared across levels is limit minus working set, the figure the
// guard's policy weighs against the limit.
function readMemoryFigures(cgroup: CgroupDir, fsRoot: string): MemoryFigures | undefined {
  const files = MEMORY_FILES[cgroup.version];
  let own: MemoryFigures | undefined;
  let tightest: MemoryFigures | undefined;
  let tightestRoomBytes = Infinity;
  for (const dir of listLevels(cgroup.dir, cgroup.mountPoint)) {
    const usageBytes = parseCount(readProcText(`${fsRoot}${dir}/${files.usage}`));
    if (usageBytes === undefined) {
      if (dir === cgroup.dir) return undefined;
      continue;
    }
    const limitBytes = parseText(readProcText(`${fsRoot}${dir}/${files.limit}`), parseLimit);
    const isOwn = dir === cgroup.dir;
    const hasLimit = limitBytes !== undefined && limitBytes !== Infinity;
    // memory.stat is the biggest file: read it only where its figure is used.
    const inactiveFileBytes = isOwn || hasLimit ? readInactiveFileBytes(`${fsRoot}${dir}/memory.stat`, files) : undefined;
    if (isOwn) {
      // Without memory.stat nothing is known to be reclaimable: all of usage counts.
      own = { usageBytes, workingSetBytes: workingSetOf(usageBytes, inactiveFileBytes ?? 0), dir };
    }
    if (!hasLimit || inactiveFileBytes === undefined) continue;
    const workingSetBytes = workingSetOf(usageBytes, inactiveFileBytes);
    if (limitBytes - workingSetBytes < tightestRoomBytes) {
      tightestRoomBytes = limitBytes - workingSetBytes;
      tightest = { usageBytes, workingSetBytes, limitBytes, dir };
    }
  }
  return tightest ?? own;
}

function readInactiveFileBytes(path: string, files: MemoryFiles): number | undefined {
  const text = readProcText(path);
  if (text === undefined) return undefined;
  for (const key of files.inactiveFileKeys) {
    const bytes = parseMemoryStat(text, key);
    if (bytes !== undefined) return bytes;
  }
  return undefined;
}

function workingSetOf(usageBytes: number, inactiveFileBytes: number): number {
  return Math.max(0, usageBytes - inactiveFileBytes);
}

function parseText<T>(text: string | undefined, parse: (text: string) => T | undefined): T | undefined {
  return text === undefined ? undefined : parse(text);
}

function parseCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = text.trim();
  return /^\d+$/.test(value) ? Number(value) : undefined;
}
