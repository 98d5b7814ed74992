// The npm package as a user gets it: `npm pack`, then `npx --package=<tarball> metamcp-init`.
// npx installs the package's dependencies (koffi among them) from the npm registry.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines } from '../helpers/guard-log.js';

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
    expect(started).toMatchObject({ name: 'metamcp-init', command: ['sh', '-c', 'exit 7'], subreaper: true });
  }, 180_000);

  it('leaves stdout to the command: -- node -e \'process.stdout.write("hi")\' prints exactly hi', () => {
    const result = npx('node', '-e', 'process.stdout.write("hi")');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('hi');
  }, 180_000);
});
