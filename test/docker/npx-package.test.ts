// The npm package as a user gets it: `npm pack`, then `npx --package=<tarball> metamcp-init`.
// npx installs the package's dependencies (koffi among them) from the npm registry.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines } from '../helpers/guard-log.js';
import { isAlive, killTree, readStat, refOf, refOfSpawned } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait-for.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

describe('the npm package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'metamcp-init-pack-'));
  let tarball: string;
  // npm run sets npm_* variables for its scripts; a user's npx sees none of them. The cache is
  // fresh, so the package really is installed from the tarball and the registry.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  Object.assign(env, { npm_config_cache: join(dir, 'npm-cache'), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });

  const npx = (...command: string[]) =>
    spawnSync('npx', ['--yes', `--package=${tarball}`, 'metamcp-init', '--', ...command], { cwd: dir, env, encoding: 'utf8', timeout: 180_000 });

  beforeAll(() => {
    // Packed from a copy of the sources, whose `prepack` bundles into the copy's own dist/:
    // the tarball never carries a stale bundle, and the dist/ other tests run is left alone.
    const sources = join(dir, 'sources');
    for (const entry of ['package.json', 'package-lock.json', 'build.mjs', 'tsconfig.json', 'README.md', 'src']) {
      cpSync(join(REPO, entry), join(sources, entry), { recursive: true });
    }
    symlinkSync(join(REPO, 'node_modules'), join(sources, 'node_modules'));
    const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: sources, env, encoding: 'utf8' });
    if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(dir, info!.filename);
    expect(info!.files.map((file) => file.path)).toEqual(expect.arrayContaining(['dist/metamcp-init.cjs', 'package.json', 'README.md']));
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the command and exits with its status: npx --package=<tgz> metamcp-init -- sh -c "exit 7"', () => {
    const result = npx('sh', '-c', 'exit 7');
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(7);
    // It was the init that ran it, as a subreaper under npm exec, and it logged to stderr.
    const started = jsonLines(result.stderr).find((line) => line.msg === 'started main child');
    // Its program only: the script after -c may hold anything, so a hash of it stands for the rest.
    expect(started).toMatchObject({ name: 'metamcp-init', command: expect.stringMatching(/^sh -c #[0-9a-f]{6}$/), subreaper: true });
  }, 180_000);

  it('leaves stdout to the command: -- node -e \'process.stdout.write("hi")\' prints exactly hi', () => {
    const result = npx('node', '-e', 'process.stdout.write("hi")');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('hi');
  }, 180_000);

  it('with -p TERM, stops itself, its child and an MCP server within the grace when its parent is killed', async () => {
    // The child starts a server in a session of its own, as MCP launchers do, and waits.
    const app = `const s = require('child_process').spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' }); console.log('server ' + s.pid); setInterval(() => {}, 1 << 30);`;
    const graceMs = 3000;
    const npxRun = spawn(
      'npx',
      ['--yes', `--package=${tarball}`, 'metamcp-init', '-p', 'TERM', '--grace', `${graceMs}ms`, '--log-format', 'json', '--', 'node', '-e', app],
      {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const npxRef = refOfSpawned(npxRun);
    let out = '';
    let err = '';
    npxRun.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    npxRun.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const refs: ReturnType<typeof refOf>[] = [];
    try {
      const serverPid = Number(await waitFor(() => /server (\d+)/.exec(out)?.[1], { timeoutMs: 120_000, what: `the server; stderr: ${err.slice(-500)}` }));
      const started = jsonLines(err).find((line) => line.msg === 'started main child') as { initPid: number; childPid: number };
      const init = refOf(started.initPid);
      refs.push(refOf(serverPid), refOf(started.childPid), init);
      const parent = readStat(init.pid)!.ppid;
      process.kill(parent, 'SIGKILL');
      const killedAt = Date.now();
      await waitFor(() => refs.every((ref) => !isAlive(ref)), { timeoutMs: 30_000, what: 'the init, its child and the server to be gone' });
      expect(Date.now() - killedAt).toBeLessThan(graceMs);
    } finally {
      for (const ref of refs) killTree(ref);
      if (npxRef) killTree(npxRef);
    }
  }, 180_000);
});
