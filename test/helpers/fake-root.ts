// A fresh temp dir per test that stands for `/` in tests of code that reads /proc and cgroup
// files through a root prefix (fsRoot, procRoot): each test writes the files it needs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { CgroupDir } from '../../src/cgroup/figures.js';

export type FakeRoot = {
  /** The temp dir of the running test. */
  readonly root: string;
  /** Writes files under the root, by their path as the init would see it. */
  writeFiles: (files: Record<string, string>) => void;
};

/** Registers a temp root made before and removed after each test of the calling file. */
export function useFakeRoot(): FakeRoot {
  let root = '';
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'metamcp-init-root-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });
  return {
    get root() {
      return root;
    },
    writeFiles: (files) => {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(`${root}${path}`), { recursive: true });
        writeFileSync(`${root}${path}`, text);
      }
    },
  };
}

/** A v1 cgroup dir under the controller's usual mount point. */
export const cgroupV1 = (controller: string, dir: string): CgroupDir => ({ version: 1, dir, mountPoint: `/sys/fs/cgroup/${controller}` });

/** A v2 cgroup dir under the usual mount point. */
export const cgroupV2 = (dir: string): CgroupDir => ({ version: 2, dir, mountPoint: '/sys/fs/cgroup' });
