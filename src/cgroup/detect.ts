import { existsSync } from 'node:fs';
import { readProcText } from '../proc/read-file.js';
import type { CgroupDir, CgroupDirs } from './figures.js';

type Controller = 'pids' | 'memory';

const CONTROLLERS: readonly Controller[] = ['pids', 'memory'];

// The v2 file whose presence shows the controller is enabled in a cgroup.
const V2_LIMIT_FILES: Record<Controller, string> = { pids: 'pids.max', memory: 'memory.max' };

/** One line of /proc/self/cgroup: the hierarchy's controllers (none for v2) and the cgroup path. */
type Membership = { hierarchyId: string; controllers: string[]; path: string };

/** One cgroup mount from /proc/self/mountinfo. */
type CgroupMount = { fstype: 'cgroup' | 'cgroup2'; root: string; mountPoint: string; superOptions: string[] };

/**
 * Finds the init's pids and memory cgroup directories from the text of /proc/self/cgroup
 * and /proc/self/mountinfo: a v1 hierarchy holding the controller wins, else the v2 one.
 */
export function resolveCgroupDirs(procSelfCgroup: string, mountinfo: string): CgroupDirs {
  const memberships = parseProcCgroup(procSelfCgroup);
  const mounts = parseCgroupMounts(mountinfo);
  const dirs: CgroupDirs = {};
  for (const controller of CONTROLLERS) {
    const dir = resolveV1(controller, memberships, mounts) ?? resolveV2(memberships, mounts);
    if (dir) dirs[controller] = dir;
  }
  return dirs;
}

/**
 * Finds the init's pids and memory cgroup directories on this machine. A v2 directory is
 * kept only when the controller is enabled there. fsRoot prefixes every path read under
 * the cgroup mounts (for test fixtures); the returned dirs are without it.
 */
export function detectCgroupDirs(procRoot = '/proc', fsRoot = ''): CgroupDirs {
  // utf8: the kernel escapes only space, tab, newline and backslash, so other bytes of a
  // path arrive raw and must decode as Node will encode them when the path is opened.
  const procSelfCgroup = readProcText(`${procRoot}/self/cgroup`, 'utf8');
  const mountinfo = readProcText(`${procRoot}/self/mountinfo`, 'utf8');
  if (procSelfCgroup === undefined || mountinfo === undefined) return {};
  const dirs = resolveCgroupDirs(procSelfCgroup, mountinfo);
  for (const controller of CONTROLLERS) {
    const dir = dirs[controller];
    if (dir?.version === 2 && !isEnabledInV2(controller, dir.dir, fsRoot)) delete dirs[controller];
  }
  return dirs;
}

function isEnabledInV2(controller: Controller, dir: string, fsRoot: string): boolean {
  const text = readProcText(`${fsRoot}${dir}/cgroup.controllers`);
  if (text === undefined) return existsSync(`${fsRoot}${dir}/${V2_LIMIT_FILES[controller]}`);
  return text.split(/\s+/).includes(controller);
}

function resolveV1(controller: Controller, memberships: Membership[], mounts: CgroupMount[]): CgroupDir | undefined {
  const membership = memberships.find((m) => m.hierarchyId !== '0' && m.controllers.includes(controller));
  if (!membership) return undefined;
  const candidates = mounts.filter((m) => m.fstype === 'cgroup' && m.superOptions.includes(controller));
  return placeIn(1, membership.path, candidates);
}

function resolveV2(memberships: Membership[], mounts: CgroupMount[]): CgroupDir | undefined {
  const membership = memberships.find((m) => m.hierarchyId === '0' && m.controllers.length === 0);
  if (!membership) return undefined;
  return placeIn(
    2,
    membership.path,
    mounts.filter((m) => m.fstype === 'cgroup2'),
  );
}

// Several mounts may show one hierarchy (bind mounts of sub-trees); the one whose root is
// the longest prefix of the cgroup path is the one the path lives under.
function placeIn(version: 1 | 2, path: string, mounts: CgroupMount[]): CgroupDir | undefined {
  let best: CgroupMount | undefined;
  for (const mount of mounts) {
    if (isPathUnder(path, mount.root) && (!best || mount.root.length > best.root.length)) best = mount;
  }
  best ??= mounts[0];
  if (!best) return undefined;
  return { version, dir: joinUnder(best.mountPoint, relativeTo(path, best.root)), mountPoint: best.mountPoint };
}

function isPathUnder(path: string, root: string): boolean {
  return root === '/' || path === root || path.startsWith(`${root}/`);
}

// Docker without a cgroup namespace: the path says /docker/<id> and the mount's root is
// /docker/<id>, so the container's cgroup is the mount point itself.
function relativeTo(path: string, root: string): string {
  if (path === root || path === '/') return '';
  if (root !== '/' && path.startsWith(`${root}/`)) return path.slice(root.length);
  return path;
}

function joinUnder(mountPoint: string, relative: string): string {
  if (relative === '') return mountPoint;
  return mountPoint === '/' ? relative : mountPoint + relative;
}

function parseProcCgroup(text: string): Membership[] {
  const memberships: Membership[] = [];
  for (const line of text.split('\n')) {
    // The path may itself hold colons: split at the first two only.
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const list = line.slice(first + 1, second);
    memberships.push({
      hierarchyId: line.slice(0, first),
      controllers: list === '' ? [] : list.split(','),
      path: line.slice(second + 1),
    });
  }
  return memberships;
}

// Fields: id parent major:minor root mountpoint options [optional...] - fstype source superoptions.
function parseCgroupMounts(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0) continue;
    const fstype = fields[separator + 1];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    mounts.push({
      fstype,
      root: decodeMountField(fields[3] ?? ''),
      mountPoint: decodeMountField(fields[4] ?? ''),
      superOptions: (fields[separator + 3] ?? '').split(','),
    });
  }
  return mounts;
}

// mountinfo escapes space, tab, newline and backslash as octal, e.g. `\040`.
function decodeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
