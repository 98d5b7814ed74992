/** Which cgroup interface a controller is mounted with. */
export type CgroupVersion = 1 | 2;

/** Where the init's cgroup for one controller lives. */
export type CgroupDir = { version: CgroupVersion; dir: string; mountPoint: string };

/** The init's cgroup for each controller the guard watches; absent when not mounted. */
export type CgroupDirs = { pids?: CgroupDir; memory?: CgroupDir };

/** pids: tasks (threads), as pids.max counts them. undefined max = no limit. */
export type PidsFigures = { currentTasks: number; maxTasks?: number; dir: string };

/** memory: working set = usage minus inactive file cache (what the OOM killer cannot simply reclaim); undefined limit = no limit. */
export type MemoryFigures = { usageBytes: number; workingSetBytes: number; limitBytes?: number; dir: string };

/** The figures of each controller that could be read. */
export type CgroupFigures = { pids?: PidsFigures; memory?: MemoryFigures };
