// The init's own footprint as real PID 1, started as the image starts it (docker/Dockerfile's
// ENTRYPOINT) and as npm starts it (the bundle's own first lines, the `bin`): at most 5
// tasks, and node's flags stay the init's own. Its RSS is measured by bench/footprint.mjs.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readChildPids } from '../../src/proc/read-proc.js';
import type { ProcRef } from '../../src/proc/snapshot.js';
import { jsonLines } from '../helpers/guard-log.js';
import { isAlive, killTree, refOf, refOfSpawned } from '../helpers/procs.js';
import { BUNDLE, rootTestsEnabled } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

const DOCKERFILE = fileURLToPath(new URL('../../docker/Dockerfile', import.meta.url));
const MAX_TASKS = 5;

/** docker/Dockerfile's ENTRYPOINT, e.g. ["node", "--v8-pool-size=1", "/opt/metamcp-init/metamcp-init.cjs", "--"]. */
function dockerEntrypoint(): string[] {
  const line = readFileSync(DOCKERFILE, 'utf8')
    .split('\n')
    .find((text) => text.startsWith('ENTRYPOINT '));
  return JSON.parse(line!.slice('ENTRYPOINT '.length)) as string[];
}

/** The node flags the bundle's own first lines exec node with, when it is run as a program. */
function bundleShebangFlags(): string[] {
  const [hashbang, execLine] = readFileSync(BUNDLE, 'utf8').split('\n', 2);
  expect(hashbang).toBe('#!/bin/sh');
  const match = /^":" \/\/; exec node (.*) "\$0" "\$@"$/.exec(execLine!);
  expect(match, `the bundle's second line: ${execLine}`).not.toBeNull();
  return match![1]!.split(' ');
}

/** What a node child reports of its own flags. */
const CHILD_REPORT = [
  "const fs = require('node:fs');",
  "const cmdline = fs.readFileSync('/proc/self/cmdline', 'utf8').split('\\0').filter(Boolean);",
  'process.stdout.write(JSON.stringify({ execArgv: process.execArgv, cmdline, nodeOptions: process.env.NODE_OPTIONS ?? null }) + "\\n");',
  'setInterval(() => {}, 60_000);',
].join(' ');

type Started = { run: ChildProcess; stdout: () => string; stderr: () => string; initPid: () => Promise<number> };
const started: ProcRef[] = [];

afterEach(() => {
  for (const ref of started.splice(0)) {
    if (!isAlive(ref)) continue;
    try {
      // Killing the namespace's PID 1 makes the kernel kill the whole namespace.
      for (const pid of readChildPids(ref.pid) ?? []) killTree(refOf(pid));
    } catch {
      // Gone already.
    }
    killTree(ref);
  }
});

/** Runs `argv` as PID 1 of a new pid namespace, as unshare's forked child. */
function startAsPid1(argv: string[], env: NodeJS.ProcessEnv): Started {
  const run = spawn('unshare', ['--pid', '--fork', '--mount-proc', ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const ref = refOfSpawned(run);
  if (ref) started.push(ref);
  let out = '';
  let err = '';
  run.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  run.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return {
    run,
    stdout: () => out,
    stderr: () => err,
    initPid: () => waitFor(() => readChildPids(run.pid!)?.[0], { what: 'the init to start' }),
  };
}

/** The init's tasks from /proc/PID/status, sampled for `ms` once the main child has reported. */
async function tasksWhileIdle(init: Started, ms: number): Promise<number[]> {
  await waitFor(() => init.stdout().includes('\n'), { timeoutMs: 30_000, what: `the child's report; stderr: ${init.stderr().slice(-500)}` });
  await waitFor(() => jsonLines(init.stderr()).some((line) => line.msg === 'started main child'), { what: 'started main child' });
  const pid = await init.initPid();
  const samples: number[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    samples.push(Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))![1]));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return samples;
}

describe.runIf(rootTestsEnabled())('the footprint of the init as PID 1', () => {
  const binDir = mkdtempSync(join(tmpdir(), 'metamcp-init-bin-'));
  afterAll(() => rmSync(binDir, { recursive: true, force: true }));
  // NODE_OPTIONS is inherited by every node below the init; it must reach the child as it was.
  const env = { NODE_OPTIONS: '--max-http-header-size=16385' };

  it('docker/Dockerfile and the npm bin start node with the same flags, and the pool flag is one of them', () => {
    const entrypoint = dockerEntrypoint();
    expect(entrypoint[0]).toBe('node');
    expect(entrypoint.slice(-2)).toEqual(['/opt/metamcp-init/metamcp-init.cjs', '--']);
    expect(entrypoint.slice(1, -2)).toEqual(bundleShebangFlags());
    expect(bundleShebangFlags()).toContain('--v8-pool-size=1');
  });

  it(`started as the Dockerfile's ENTRYPOINT: at most ${MAX_TASKS} tasks, and the child gets neither the flags nor a changed NODE_OPTIONS`, async () => {
    const entrypoint = dockerEntrypoint().map((arg) => (arg === 'node' ? process.execPath : arg === '/opt/metamcp-init/metamcp-init.cjs' ? BUNDLE : arg));
    // ENTRYPOINT ends with `--`; the init's own options go before it, as compose's `environment:` would set them.
    const init = startAsPid1([...entrypoint.slice(0, -1), '--log-format', 'json', '--', process.execPath, '-e', CHILD_REPORT], env);

    const tasks = await tasksWhileIdle(init, 1500);
    expect(Math.max(...tasks)).toBeLessThanOrEqual(MAX_TASKS);
    const flags = dockerEntrypoint().slice(1, -2);
    expect(
      readFileSync(`/proc/${await init.initPid()}/cmdline`, 'utf8')
        .split('\0')
        .slice(0, flags.length + 2),
    ).toEqual([process.execPath, ...flags, BUNDLE]);
    expect(jsonLines(init.stderr()).find((line) => line.msg === 'started main child')).toMatchObject({ initPid: 1, subreaper: false });

    const child = JSON.parse(init.stdout().split('\n')[0]!) as { execArgv: string[]; cmdline: string[]; nodeOptions: string | null };
    expect(child.execArgv).toEqual(['-e', CHILD_REPORT]);
    expect(child.cmdline).toEqual([process.execPath, '-e', CHILD_REPORT]);
    expect(child.nodeOptions).toBe(env.NODE_OPTIONS);
  });

  it(`run as a program through a symlink, as npm's bin and npx run it: one node process, at most ${MAX_TASKS} tasks, and the child gets neither`, async () => {
    const bin = join(binDir, 'metamcp-init');
    symlinkSync(BUNDLE, bin);
    // PATH decides which node the first lines exec, as for `#!/usr/bin/env node`: this one.
    const path = `${join(process.execPath, '..')}:${process.env.PATH}`;
    const init = startAsPid1([bin, '--log-format', 'json', '--', process.execPath, '-e', CHILD_REPORT], { ...env, PATH: path });

    const tasks = await tasksWhileIdle(init, 1500);
    expect(Math.max(...tasks)).toBeLessThanOrEqual(MAX_TASKS);
    // sh exec'd node in its place: PID 1 is node itself, with the flags, on the symlink.
    const initPid = await init.initPid();
    expect(readFileSync(`/proc/${initPid}/comm`, 'utf8').trim()).toBe('node');
    expect(readFileSync(`/proc/${initPid}/cmdline`, 'utf8').split('\0').slice(0, 4)).toEqual(['node', ...bundleShebangFlags(), bin, '--log-format']);
    expect(jsonLines(init.stderr()).find((line) => line.msg === 'started main child')).toMatchObject({ initPid: 1, subreaper: false });

    const child = JSON.parse(init.stdout().split('\n')[0]!) as { execArgv: string[]; cmdline: string[]; nodeOptions: string | null };
    expect(child.execArgv).toEqual(['-e', CHILD_REPORT]);
    expect(child.cmdline).toEqual([process.execPath, '-e', CHILD_REPORT]);
    expect(child.nodeOptions).toBe(env.NODE_OPTIONS);
  });
});
