import { describe, expect, it } from 'vitest';
import { detectCgroupDirs, resolveCgroupDirs } from '../../src/cgroup/detect.js';
import { readCgroupFigures } from '../../src/cgroup/read-figures.js';
import { useFakeRoot, cgroupV1 as v1, cgroupV2 as v2 } from '../helpers/fake-root.js';

// The project's Linux machine, verbatim: v1 controllers, a v2 hierarchy with no
// controllers at /sys/fs/cgroup/unified, and the memory cgroup below the mount's root.
const MACHINE_CGROUP = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/429899ced4c32f18eadefbe23eec80a3
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;
const MACHINE_MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334524k,nr_inodes=3083631,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684096k
26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
28 27 0:25 / /mnt/sandboxing/model_tools_env/v1/python ro,nosuid,nodev,relatime - tmpfs model_tools_unavailable ro,size=4k,mode=755
29 26 0:26 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684096k
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

// A container on a v1 host without a cgroup namespace: Docker bind-mounts the
// container's own sub-tree, so each mount's root is /docker/<id>.
const ID = '3f1c2a9b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a';
const DOCKER_V1_CGROUP = `12:pids:/docker/${ID}
11:hugetlb:/docker/${ID}
10:memory:/docker/${ID}
9:cpu,cpuacct:/docker/${ID}
8:net_cls,net_prio:/docker/${ID}
1:name=systemd:/docker/${ID}
0::/system.slice/containerd.service
`;
const DOCKER_V1_MOUNTINFO = `1200 1099 0:142 / / rw,relatime master:590 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B,upperdir=/var/lib/docker/overlay2/x/diff,workdir=/var/lib/docker/overlay2/x/work
1201 1200 0:145 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1205 1200 0:146 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
1206 1205 0:147 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755
1207 1206 0:29 /docker/${ID} /sys/fs/cgroup/systemd ro,nosuid,nodev,noexec,relatime master:11 - cgroup cgroup rw,xattr,name=systemd
1210 1206 0:33 /docker/${ID} /sys/fs/cgroup/cpu,cpuacct ro,nosuid,nodev,noexec,relatime master:16 - cgroup cgroup rw,cpu,cpuacct
1211 1206 0:34 /docker/${ID} /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:17 - cgroup cgroup rw,memory
1212 1206 0:35 /docker/${ID} /sys/fs/cgroup/net_cls,net_prio ro,nosuid,nodev,noexec,relatime master:18 - cgroup cgroup rw,net_cls,net_prio
1213 1206 0:36 /docker/${ID} /sys/fs/cgroup/hugetlb ro,nosuid,nodev,noexec,relatime master:19 - cgroup cgroup rw,hugetlb
1214 1206 0:37 /docker/${ID} /sys/fs/cgroup/pids ro,nosuid,nodev,noexec,relatime master:20 - cgroup cgroup rw,pids
1100 1200 254:1 /var/lib/docker/containers/${ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw
`;

// Docker on a pure v2 host with its default private cgroup namespace.
const V2_NS_CGROUP = '0::/\n';
const V2_NS_MOUNTINFO = `730 729 0:120 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
731 730 0:123 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
735 730 0:124 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
736 735 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot
`;

// Docker on a v2 host with --cgroupns=host: the host's whole tree is visible.
const V2_HOST_NS_CGROUP = '0::/system.slice/docker-abc.scope\n';
const V2_HOST_NS_MOUNTINFO = `730 729 0:120 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
736 735 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime shared:4 master:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

// systemd's hybrid layout (Ubuntu 20.04): v1 controllers and a controller-less v2 tree.
const HYBRID_CGROUP = `12:pids:/user.slice/user-1000.slice/session-3.scope
7:memory:/user.slice/user-1000.slice/session-3.scope
4:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/user-1000.slice/session-3.scope
0::/user.slice/user-1000.slice/session-3.scope
`;
const HYBRID_MOUNTINFO = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
32 25 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
33 32 0:28 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
34 32 0:29 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
38 32 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
41 32 0:36 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,memory
45 32 0:40 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:22 - cgroup cgroup rw,pids
`;

describe('resolveCgroupDirs', () => {
  it('finds v1 pids at its mount point and v1 memory below it on the project machine', () => {
    expect(resolveCgroupDirs(MACHINE_CGROUP, MACHINE_MOUNTINFO)).toEqual({
      pids: { version: 1, dir: '/sys/fs/cgroup/pids', mountPoint: '/sys/fs/cgroup/pids' },
      memory: {
        version: 1,
        dir: '/sys/fs/cgroup/memory/process_api/429899ced4c32f18eadefbe23eec80a3',
        mountPoint: '/sys/fs/cgroup/memory',
      },
    });
  });

  it('strips the mount root of Docker on a v1 host without a cgroup namespace', () => {
    expect(resolveCgroupDirs(DOCKER_V1_CGROUP, DOCKER_V1_MOUNTINFO)).toEqual({
      pids: { version: 1, dir: '/sys/fs/cgroup/pids', mountPoint: '/sys/fs/cgroup/pids' },
      memory: { version: 1, dir: '/sys/fs/cgroup/memory', mountPoint: '/sys/fs/cgroup/memory' },
    });
  });

  it('keeps the part of the path below the mount root', () => {
    const cgroup = DOCKER_V1_CGROUP.replace(`12:pids:/docker/${ID}`, `12:pids:/docker/${ID}/app/worker`);
    expect(resolveCgroupDirs(cgroup, DOCKER_V1_MOUNTINFO).pids?.dir).toBe('/sys/fs/cgroup/pids/app/worker');
  });

  it('appends the whole path when the mount root is not a prefix of it', () => {
    const cgroup = DOCKER_V1_CGROUP.replace(`12:pids:/docker/${ID}`, '12:pids:/other/cgroup');
    expect(resolveCgroupDirs(cgroup, DOCKER_V1_MOUNTINFO).pids?.dir).toBe('/sys/fs/cgroup/pids/other/cgroup');
  });

  it('treats a mount root as a prefix only at a path component boundary', () => {
    const cgroup = DOCKER_V1_CGROUP.replace(`12:pids:/docker/${ID}`, `12:pids:/docker/${ID}x`);
    expect(resolveCgroupDirs(cgroup, DOCKER_V1_MOUNTINFO).pids?.dir).toBe(`/sys/fs/cgroup/pids/docker/${ID}x`);
  });

  it('picks, among mounts of one hierarchy, the one whose root is the longest prefix of the path', () => {
    const mountinfo = `${DOCKER_V1_MOUNTINFO}1300 1200 0:37 /docker/${ID}/app /mnt/app-pids rw - cgroup cgroup rw,pids
1301 1200 0:37 / /host/pids rw - cgroup cgroup rw,pids
1302 1200 0:37 /elsewhere /mnt/elsewhere rw - cgroup cgroup rw,pids
`;
    const at = (path: string) => resolveCgroupDirs(`12:pids:${path}\n`, mountinfo).pids;
    expect(at(`/docker/${ID}`)).toEqual({ version: 1, dir: '/sys/fs/cgroup/pids', mountPoint: '/sys/fs/cgroup/pids' });
    expect(at(`/docker/${ID}/app/x`)).toEqual({ version: 1, dir: '/mnt/app-pids/x', mountPoint: '/mnt/app-pids' });
    expect(at('/system.slice/a')).toEqual({ version: 1, dir: '/host/pids/system.slice/a', mountPoint: '/host/pids' });
  });

  it('uses the v2 mount point itself inside a cgroup namespace', () => {
    const v2 = { version: 2, dir: '/sys/fs/cgroup', mountPoint: '/sys/fs/cgroup' };
    expect(resolveCgroupDirs(V2_NS_CGROUP, V2_NS_MOUNTINFO)).toEqual({ pids: v2, memory: v2 });
  });

  it('appends the v2 path without a cgroup namespace', () => {
    const v2 = { version: 2, dir: '/sys/fs/cgroup/system.slice/docker-abc.scope', mountPoint: '/sys/fs/cgroup' };
    expect(resolveCgroupDirs(V2_HOST_NS_CGROUP, V2_HOST_NS_MOUNTINFO)).toEqual({ pids: v2, memory: v2 });
  });

  it('prefers the v1 controllers of a hybrid layout to its controller-less v2 tree', () => {
    const scope = '/user.slice/user-1000.slice/session-3.scope';
    expect(resolveCgroupDirs(HYBRID_CGROUP, HYBRID_MOUNTINFO)).toEqual({
      pids: { version: 1, dir: `/sys/fs/cgroup/pids${scope}`, mountPoint: '/sys/fs/cgroup/pids' },
      memory: { version: 1, dir: `/sys/fs/cgroup/memory${scope}`, mountPoint: '/sys/fs/cgroup/memory' },
    });
  });

  it('falls back to v2 for a controller no v1 hierarchy holds', () => {
    const cgroup = HYBRID_CGROUP.replace(/^7:memory:.*\n/m, '');
    expect(resolveCgroupDirs(cgroup, HYBRID_MOUNTINFO).memory).toEqual({
      version: 2,
      dir: '/sys/fs/cgroup/unified/user.slice/user-1000.slice/session-3.scope',
      mountPoint: '/sys/fs/cgroup/unified',
    });
  });

  it('falls back to v2 when the v1 hierarchy holding a controller is not mounted', () => {
    const mountinfo = HYBRID_MOUNTINFO.replace(/^45 .*\n/m, '');
    expect(resolveCgroupDirs(HYBRID_CGROUP, mountinfo).pids).toMatchObject({ version: 2, mountPoint: '/sys/fs/cgroup/unified' });
  });

  it('finds nothing without cgroup mounts', () => {
    const mountinfo = DOCKER_V1_MOUNTINFO.split('\n')
      .filter((line) => !line.includes(' - cgroup'))
      .join('\n');
    expect(resolveCgroupDirs(DOCKER_V1_CGROUP, mountinfo)).toEqual({});
    expect(resolveCgroupDirs(MACHINE_CGROUP, '')).toEqual({});
    expect(resolveCgroupDirs('', '')).toEqual({});
  });

  it('decodes octal escapes in mount points and roots', () => {
    const mountinfo = '50 31 0:36 /my\\040box /sys/fs/cgroup/my\\040pids\\011x rw,relatime - cgroup cgroup rw,pids\n';
    expect(resolveCgroupDirs('8:pids:/my box/inner\n', mountinfo).pids).toEqual({
      version: 1,
      dir: '/sys/fs/cgroup/my pids\tx/inner',
      mountPoint: '/sys/fs/cgroup/my pids\tx',
    });
  });

  it('keeps colons that are part of the cgroup path', () => {
    expect(resolveCgroupDirs('0::/a:b\n', V2_HOST_NS_MOUNTINFO).pids?.dir).toBe('/sys/fs/cgroup/a:b');
  });
});

describe('detectCgroupDirs', () => {
  const fake = useFakeRoot();
  const { writeFiles } = fake;

  function writeProc(procSelfCgroup: string, mountinfo: string): string {
    writeFiles({ '/proc/self/cgroup': procSelfCgroup, '/proc/self/mountinfo': mountinfo });
    return `${fake.root}/proc`;
  }

  const V2_MOUNTINFO = '736 735 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n';
  const V1_MOUNTINFO = `39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
`;

  it('finds v1 dirs from fake /proc files', () => {
    const procRoot = writeProc('8:pids:/job\n4:memory:/job\n0::/\n', V1_MOUNTINFO);
    expect(detectCgroupDirs(procRoot, fake.root)).toEqual({ pids: v1('pids', '/sys/fs/cgroup/pids/job'), memory: v1('memory', '/sys/fs/cgroup/memory/job') });
  });

  it('finds the dirs whose figures readCgroupFigures reads', () => {
    const procRoot = writeProc('8:pids:/job\n4:memory:/job\n0::/\n', V1_MOUNTINFO);
    writeFiles({
      '/sys/fs/cgroup/pids/job/pids.current': '5\n',
      '/sys/fs/cgroup/pids/job/pids.max': '25\n',
      '/sys/fs/cgroup/memory/job/memory.usage_in_bytes': '4096\n',
      '/sys/fs/cgroup/memory/job/memory.limit_in_bytes': '8192\n',
      '/sys/fs/cgroup/memory/job/memory.stat': 'total_inactive_file 1024\n',
    });
    expect(readCgroupFigures(detectCgroupDirs(procRoot, fake.root), fake.root)).toEqual({
      pids: { currentTasks: 5, maxTasks: 25, dir: '/sys/fs/cgroup/pids/job' },
      memory: { usageBytes: 4096, workingSetBytes: 3072, limitBytes: 8192, dir: '/sys/fs/cgroup/memory/job' },
    });
  });

  it('keeps v2 controllers that cgroup.controllers lists', () => {
    const procRoot = writeProc('0::/\n', V2_MOUNTINFO);
    writeFiles({ '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n' });
    expect(detectCgroupDirs(procRoot, fake.root)).toEqual({ pids: v2('/sys/fs/cgroup'), memory: v2('/sys/fs/cgroup') });
  });

  it('drops v2 controllers that cgroup.controllers does not list', () => {
    const procRoot = writeProc('0::/\n', V2_MOUNTINFO);
    writeFiles({ '/sys/fs/cgroup/cgroup.controllers': 'cpu io memory\n', '/sys/fs/cgroup/pids.max': 'max\n' });
    expect(detectCgroupDirs(procRoot, fake.root)).toEqual({ memory: v2('/sys/fs/cgroup') });
  });

  it('keeps a v2 controller whose limit file exists when cgroup.controllers cannot be read', () => {
    const procRoot = writeProc('0::/system.slice/docker-abc.scope\n', V2_MOUNTINFO);
    writeFiles({ '/sys/fs/cgroup/system.slice/docker-abc.scope/pids.max': '100\n' });
    expect(detectCgroupDirs(procRoot, fake.root)).toEqual({ pids: v2('/sys/fs/cgroup/system.slice/docker-abc.scope') });
  });

  it('keeps v1 dirs without checking the files under them', () => {
    const procRoot = writeProc('8:pids:/job\n', V1_MOUNTINFO);
    expect(detectCgroupDirs(procRoot, fake.root)).toEqual({ pids: v1('pids', '/sys/fs/cgroup/pids/job') });
  });

  it('finds nothing when /proc/self/cgroup and mountinfo are missing', () => {
    expect(detectCgroupDirs(`${fake.root}/proc`, fake.root)).toEqual({});
  });

  it('finds nothing when /proc/self/cgroup alone is missing', () => {
    writeFiles({ '/proc/self/mountinfo': V2_MOUNTINFO });
    expect(detectCgroupDirs(`${fake.root}/proc`, fake.root)).toEqual({});
  });
});
