import { describe, expect, it } from 'vitest';
import { parseLimit, parseMemoryStat, pollWorkingSet, readCgroupFigures, readPidsCurrent, withPidsMax } from '../../src/cgroup/read-figures.js';
import { useFakeRoot, cgroupV1 as v1, cgroupV2 as v2 } from '../helpers/fake-root.js';

// A real v1 memory.stat from the project machine, trimmed; inactive_file and
// total_inactive_file differ so that the key chosen shows.
const V1_MEMORY_STAT = `cache 121290752
rss 1740800
inactive_anon 1540096
active_anon 12288
inactive_file 78565376
active_file 42725376
hierarchical_memory_limit 9223372036854771712
total_cache 121290752
total_rss 1740800
total_inactive_anon 1540096
total_inactive_file 80000000
total_active_file 42725376
`;

// A real v2 memory.stat, trimmed.
const V2_MEMORY_STAT = `anon 10850304
file 26517504
kernel 2400256
inactive_anon 10838016
active_anon 12288
inactive_file 20000000
active_file 6517504
`;

const V1_NO_LIMIT = '9223372036854771712\n';

const fake = useFakeRoot();
const { writeFiles } = fake;

describe('parseLimit', () => {
  it('reads a count', () => {
    expect(parseLimit('50\n')).toBe(50);
    expect(parseLimit('0')).toBe(0);
  });

  it('reads max and the huge v1 value as no limit', () => {
    expect(parseLimit('max\n')).toBe(Infinity);
    expect(parseLimit(V1_NO_LIMIT)).toBe(Infinity);
    expect(parseLimit(String(2 ** 62))).toBe(Infinity);
    expect(parseLimit(String(2 ** 62 - 4096))).toBe(2 ** 62 - 4096);
  });

  it('returns undefined for text that is not a limit', () => {
    expect(parseLimit('')).toBeUndefined();
    expect(parseLimit('-1')).toBeUndefined();
    expect(parseLimit('12 kB')).toBeUndefined();
    expect(parseLimit('maximum')).toBeUndefined();
  });
});

describe('parseMemoryStat', () => {
  it('reads a key on its own line, not as the tail of a longer key', () => {
    expect(parseMemoryStat(V1_MEMORY_STAT, 'inactive_file')).toBe(78565376);
    expect(parseMemoryStat(V1_MEMORY_STAT, 'total_inactive_file')).toBe(80000000);
    expect(parseMemoryStat(V1_MEMORY_STAT, 'active_file')).toBe(42725376);
  });

  it('reads the first and the last line', () => {
    expect(parseMemoryStat(V1_MEMORY_STAT, 'cache')).toBe(121290752);
    expect(parseMemoryStat('a 1\nb 2', 'b')).toBe(2);
  });

  it('returns undefined for a missing key or a bad value', () => {
    expect(parseMemoryStat(V2_MEMORY_STAT, 'total_inactive_file')).toBeUndefined();
    expect(parseMemoryStat('inactive_file x\n', 'inactive_file')).toBeUndefined();
    expect(parseMemoryStat('', 'inactive_file')).toBeUndefined();
  });
});

describe('readCgroupFigures: pids', () => {
  it('reads a v1 limit', () => {
    const dir = '/sys/fs/cgroup/pids/job';
    writeFiles({ [`${dir}/pids.current`]: '7\n', [`${dir}/pids.max`]: '50\n' });
    expect(readCgroupFigures({ pids: v1('pids', dir) }, fake.root)).toEqual({ pids: { currentTasks: 7, maxTasks: 50, dir } });
  });

  it('reads v2 max as no limit', () => {
    const dir = '/sys/fs/cgroup';
    writeFiles({ [`${dir}/pids.current`]: '12\n', [`${dir}/pids.max`]: 'max\n' });
    expect(readCgroupFigures({ pids: v2(dir) }, fake.root)).toEqual({ pids: { currentTasks: 12, dir } });
  });

  it('reports a tighter parent with its own current', () => {
    const parent = '/sys/fs/cgroup/system.slice';
    const dir = `${parent}/docker-abc.scope`;
    writeFiles({
      [`${dir}/pids.current`]: '10\n',
      [`${dir}/pids.max`]: '100\n',
      [`${parent}/pids.current`]: '45\n',
      [`${parent}/pids.max`]: '50\n',
      '/sys/fs/cgroup/pids.current': '300\n',
    });
    expect(readCgroupFigures({ pids: v2(dir) }, fake.root).pids).toEqual({ currentTasks: 45, maxTasks: 50, dir: parent });
  });

  it('reports its own level when it is the tighter one, or the parent has no limit', () => {
    const parent = '/sys/fs/cgroup/pids/outer';
    const dir = `${parent}/inner`;
    writeFiles({
      [`${dir}/pids.current`]: '10\n',
      [`${dir}/pids.max`]: '20\n',
      [`${parent}/pids.current`]: '45\n',
      [`${parent}/pids.max`]: '100\n',
    });
    expect(readCgroupFigures({ pids: v1('pids', dir) }, fake.root).pids).toEqual({ currentTasks: 10, maxTasks: 20, dir });
    writeFiles({ [`${parent}/pids.max`]: 'max\n' });
    expect(readCgroupFigures({ pids: v1('pids', dir) }, fake.root).pids).toEqual({ currentTasks: 10, maxTasks: 20, dir });
  });

  it('reports a limit set only on a parent', () => {
    const parent = '/sys/fs/cgroup/pids/outer';
    const dir = `${parent}/inner`;
    writeFiles({
      [`${dir}/pids.current`]: '3\n',
      [`${dir}/pids.max`]: 'max\n',
      [`${parent}/pids.current`]: '8\n',
      [`${parent}/pids.max`]: '60\n',
    });
    expect(readCgroupFigures({ pids: v1('pids', dir) }, fake.root).pids).toEqual({ currentTasks: 8, maxTasks: 60, dir: parent });
  });

  it('reads no level above the mount point', () => {
    const dir = '/sys/fs/cgroup/pids/job';
    writeFiles({
      [`${dir}/pids.current`]: '7\n',
      [`${dir}/pids.max`]: 'max\n',
      '/sys/fs/cgroup/pids.current': '7\n',
      '/sys/fs/cgroup/pids.max': '8\n',
    });
    expect(readCgroupFigures({ pids: v1('pids', dir) }, fake.root).pids).toEqual({ currentTasks: 7, dir });
  });

  it('skips a level whose files cannot be read or parsed', () => {
    const parent = '/sys/fs/cgroup/pids/outer';
    const dir = `${parent}/inner`;
    writeFiles({
      [`${dir}/pids.current`]: '3\n',
      [`${dir}/pids.max`]: '100\n',
      [`${parent}/pids.current`]: 'garbage\n',
      [`${parent}/pids.max`]: '5\n',
      '/sys/fs/cgroup/pids/pids.current': '90\n',
    });
    expect(readCgroupFigures({ pids: v1('pids', dir) }, fake.root).pids).toEqual({ currentTasks: 3, maxTasks: 100, dir });
  });

  it('reports its own current without a limit when its pids.max cannot be read', () => {
    const dir = '/sys/fs/cgroup/pids/job';
    writeFiles({ [`${dir}/pids.current`]: '4\n', [`${dir}/pids.max`]: 'nonsense\n' });
    expect(readCgroupFigures({ pids: v1('pids', dir) }, fake.root).pids).toEqual({ currentTasks: 4, dir });
  });

  it('leaves pids undefined when its own pids.current cannot be read', () => {
    const parent = '/sys/fs/cgroup/pids/outer';
    const dir = `${parent}/inner`;
    writeFiles({ [`${dir}/pids.max`]: '10\n', [`${parent}/pids.current`]: '3\n', [`${parent}/pids.max`]: '10\n' });
    expect(readCgroupFigures({ pids: v1('pids', dir) }, fake.root)).toEqual({});
    expect(readCgroupFigures({ pids: v1('pids', '/sys/fs/cgroup/pids/missing') }, fake.root)).toEqual({});
  });
});

describe('readPidsCurrent', () => {
  it('reads pids.current', () => {
    writeFiles({ '/sys/fs/cgroup/pids.current': '17\n' });
    expect(readPidsCurrent('/sys/fs/cgroup', fake.root)).toBe(17);
  });

  it('gives undefined when the cgroup is gone', () => {
    expect(readPidsCurrent('/sys/fs/cgroup/gone', fake.root)).toBeUndefined();
  });
});

describe('pollWorkingSet', () => {
  it('gives usage below the mark, and the working set from it on', () => {
    const dir = '/sys/fs/cgroup/memory/job';
    writeFiles({ [`${dir}/memory.usage_in_bytes`]: '124256256\n', [`${dir}/memory.stat`]: V1_MEMORY_STAT });
    expect(pollWorkingSet(v1('memory', dir), 124256257, fake.root)).toBe(124256256);
    expect(pollWorkingSet(v1('memory', dir), 124256256, fake.root)).toBe(124256256 - 80000000);
  });

  it('reads v2 files, counts all of usage without memory.stat, and gives undefined when the cgroup is gone', () => {
    const dir = '/sys/fs/cgroup';
    writeFiles({ [`${dir}/memory.current`]: '60000000\n', [`${dir}/memory.stat`]: V2_MEMORY_STAT });
    expect(pollWorkingSet(v2(dir), 0, fake.root)).toBe(40000000);
    writeFiles({ '/sys/fs/cgroup/nostat/memory.current': '60000000\n' });
    expect(pollWorkingSet(v2('/sys/fs/cgroup/nostat'), 0, fake.root)).toBe(60000000);
    expect(pollWorkingSet(v2('/sys/fs/cgroup/gone'), 0, fake.root)).toBeUndefined();
  });
});

describe('readCgroupFigures: memory', () => {
  it('subtracts v1 total_inactive_file and reads the huge limit as none', () => {
    const dir = '/sys/fs/cgroup/memory/job';
    writeFiles({
      [`${dir}/memory.usage_in_bytes`]: '124256256\n',
      [`${dir}/memory.limit_in_bytes`]: V1_NO_LIMIT,
      [`${dir}/memory.stat`]: V1_MEMORY_STAT,
    });
    expect(readCgroupFigures({ memory: v1('memory', dir) }, fake.root).memory).toEqual({
      usageBytes: 124256256,
      workingSetBytes: 124256256 - 80000000,
      dir,
    });
  });

  it('falls back to v1 inactive_file without total_inactive_file', () => {
    const dir = '/sys/fs/cgroup/memory/job';
    writeFiles({
      [`${dir}/memory.usage_in_bytes`]: '124256256\n',
      [`${dir}/memory.limit_in_bytes`]: '268435456\n',
      [`${dir}/memory.stat`]: V1_MEMORY_STAT.replace(/^total_.*\n/gm, ''),
    });
    expect(readCgroupFigures({ memory: v1('memory', dir) }, fake.root).memory).toEqual({
      usageBytes: 124256256,
      workingSetBytes: 124256256 - 78565376,
      limitBytes: 268435456,
      dir,
    });
  });

  it('reads a v2 limit and subtracts inactive_file', () => {
    const dir = '/sys/fs/cgroup';
    writeFiles({ [`${dir}/memory.current`]: '60000000\n', [`${dir}/memory.max`]: '536870912\n', [`${dir}/memory.stat`]: V2_MEMORY_STAT });
    expect(readCgroupFigures({ memory: v2(dir) }, fake.root).memory).toEqual({
      usageBytes: 60000000,
      workingSetBytes: 40000000,
      limitBytes: 536870912,
      dir,
    });
  });

  it('reads v2 max as no limit and never lets the working set go below zero', () => {
    const dir = '/sys/fs/cgroup';
    writeFiles({ [`${dir}/memory.current`]: '1000\n', [`${dir}/memory.max`]: 'max\n', [`${dir}/memory.stat`]: V2_MEMORY_STAT });
    expect(readCgroupFigures({ memory: v2(dir) }, fake.root).memory).toEqual({ usageBytes: 1000, workingSetBytes: 0, dir });
  });

  it('reports a parent whose limit leaves less room for the working set', () => {
    const parent = '/sys/fs/cgroup/outer';
    const dir = `${parent}/inner`;
    writeFiles({
      [`${dir}/memory.current`]: '100000000\n',
      [`${dir}/memory.max`]: '1000000000\n',
      [`${dir}/memory.stat`]: 'inactive_file 0\n',
      // usage 300 MB of which 150 MB inactive: 150 MB working set under 200 MB.
      [`${parent}/memory.current`]: '300000000\n',
      [`${parent}/memory.max`]: '200000000\n',
      [`${parent}/memory.stat`]: 'inactive_file 150000000\n',
    });
    expect(readCgroupFigures({ memory: v2(dir) }, fake.root).memory).toEqual({
      usageBytes: 300000000,
      workingSetBytes: 150000000,
      limitBytes: 200000000,
      dir: parent,
    });
  });

  it('skips a limited level whose memory.stat cannot be read', () => {
    const parent = '/sys/fs/cgroup/outer';
    const dir = `${parent}/inner`;
    writeFiles({
      [`${dir}/memory.current`]: '100\n',
      [`${dir}/memory.max`]: 'max\n',
      [`${dir}/memory.stat`]: 'inactive_file 40\n',
      [`${parent}/memory.current`]: '150\n',
      [`${parent}/memory.max`]: '200\n',
    });
    expect(readCgroupFigures({ memory: v2(dir) }, fake.root).memory).toEqual({ usageBytes: 100, workingSetBytes: 60, dir });
  });

  it('counts all usage as working set when its own memory.stat cannot be read', () => {
    const dir = '/sys/fs/cgroup';
    writeFiles({ [`${dir}/memory.current`]: '1000\n', [`${dir}/memory.max`]: 'max\n' });
    expect(readCgroupFigures({ memory: v2(dir) }, fake.root).memory).toEqual({ usageBytes: 1000, workingSetBytes: 1000, dir });
  });

  it('leaves memory undefined when its own usage cannot be read', () => {
    const dir = '/sys/fs/cgroup/memory/job';
    writeFiles({ [`${dir}/memory.limit_in_bytes`]: '100\n', [`${dir}/memory.stat`]: V1_MEMORY_STAT });
    expect(readCgroupFigures({ memory: v1('memory', dir) }, fake.root)).toEqual({});
  });
});

describe('withPidsMax', () => {
  const figures = { pids: { currentTasks: 50, dir: '/c' }, memory: { usageBytes: 1, workingSetBytes: 1, dir: '/m' } };

  it('gives a cgroup without a pids limit the one the operator set', () => {
    expect(withPidsMax(figures, 100).pids).toEqual({ currentTasks: 50, maxTasks: 100, dir: '/c' });
  });

  it('keeps the tighter of the two', () => {
    expect(withPidsMax({ pids: { currentTasks: 50, maxTasks: 80, dir: '/c' } }, 100).pids?.maxTasks).toBe(80);
    expect(withPidsMax({ pids: { currentTasks: 50, maxTasks: 800, dir: '/c' } }, 100).pids?.maxTasks).toBe(100);
  });

  it('changes nothing without a pids controller to count tasks, or without the option', () => {
    expect(withPidsMax({}, 100)).toEqual({});
    expect(withPidsMax(figures, undefined)).toBe(figures);
  });
});
