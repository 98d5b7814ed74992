import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/options.js';

function parse(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const result = parseArgs(argv, env, { writeOut: (t) => (out += t), writeErr: (t) => (err += t) }, '1.2.3');
  return { result, out, err };
}

describe('parseArgs', () => {
  it('takes the command after --, with defaults for every option', () => {
    const { result } = parse(['--', 'node', 'app.js', '--port', '3000']);
    expect(result).toEqual({
      kind: 'run',
      config: {
        command: ['node', 'app.js', '--port', '3000'],
        graceMs: 10_000,
        group: false,
        reapIntervalMs: 1000,
        remapExitCodes: [],
        rewrites: [],
        logLevel: 'info',
        logFormat: 'auto',
        guardOff: false,
        dryRun: false,
        match: [],
        alsoMatch: [],
        maxPerCommand: 8,
        maxStarting: 4,
        maxInstances: undefined,
        orphanGraceMs: 10_000,
        idleAfterMs: 120_000,
        startGraceMs: 10_000,
        pidsHeadroom: { percent: 20 },
        memoryHeadroom: { percent: 10 },
        stopGraceMs: 3000,
        intervalMs: 1000,
        appToleratesCrashes: false,
        signalsOnly: false,
        showCommandLines: false,
      },
    });
  });

  it("reads the guard's options and their variables", () => {
    const { result } = parse(
      [
        '--match',
        'foo',
        '--match',
        'bar',
        '--pids-headroom',
        '30',
        '--memory-headroom',
        '512MiB',
        '--max-instances',
        '9',
        '--start-grace',
        '30s',
        '--dry-run',
        '--',
        'x',
      ],
      { METAMCP_INIT_ALSO_MATCH: 'baz\nqux', METAMCP_INIT_MAX_PER_COMMAND: '2' },
    );
    expect(result).toMatchObject({
      kind: 'run',
      config: {
        match: ['foo', 'bar'],
        alsoMatch: ['baz', 'qux'],
        maxPerCommand: 2,
        maxInstances: 9,
        pidsHeadroom: { amount: 30 },
        memoryHeadroom: { amount: 512 * 1024 * 1024 },
        startGraceMs: 30_000,
        dryRun: true,
      },
    });
  });

  it("reads tini's -e and -p and dumb-init's --rewrite, and their variables", () => {
    const flags = parse(['-e', '143', '--remap-exit', '130', '-r', 'TERM:QUIT', '--rewrite', 'USR1:0', '-p', 'TERM', '--', 'app']);
    expect(flags.result).toMatchObject({
      config: {
        remapExitCodes: [143, 130],
        rewrites: [
          { from: 'SIGTERM', to: 'SIGQUIT' },
          { from: 'SIGUSR1', to: null },
        ],
        parentDeathSignal: 'SIGTERM',
      },
    });
    const env = parse(['--', 'app'], {
      METAMCP_INIT_REMAP_EXIT: '143,130',
      METAMCP_INIT_REWRITE: 'TERM:QUIT\nUSR1:0',
      METAMCP_INIT_PARENT_DEATH_SIGNAL: 'SIGHUP',
    });
    expect(env.result).toMatchObject({ config: { remapExitCodes: [143, 130], rewrites: [{ to: 'SIGQUIT' }, { to: null }], parentDeathSignal: 'SIGHUP' } });
    expect(parse(['-e', '300', '--', 'app']).result).toEqual({ kind: 'exit', exitCode: 2 });
  });

  it('takes the command without --, leaving its options alone', () => {
    const { result } = parse(['--grace', '2s', 'node', '--grace', 'x']);
    expect(result).toMatchObject({ kind: 'run', config: { command: ['node', '--grace', 'x'], graceMs: 2000 } });
  });

  it('reads METAMCP_INIT_* variables', () => {
    const env = { METAMCP_INIT_GRACE: '1500ms', METAMCP_INIT_GROUP: 'yes', METAMCP_INIT_LOG_LEVEL: 'debug' };
    expect(parse(['--', 'x'], env).result).toMatchObject({ config: { graceMs: 1500, group: true, logLevel: 'debug' } });
  });

  it('lets a flag win over its variable', () => {
    expect(parse(['--grace', '3', '--', 'x'], { METAMCP_INIT_GRACE: '1500ms' }).result).toMatchObject({ config: { graceMs: 3000 } });
  });

  it('reads a false boolean variable as false', () => {
    expect(parse(['--', 'x'], { METAMCP_INIT_GROUP: '0' }).result).toMatchObject({ config: { group: false } });
  });

  it.each([
    [['--grace', 'soon', '--', 'x'], {}, '--grace'],
    [['--grace', '-1s', '--', 'x'], {}, '--grace'],
    [['--reap-interval', '0', '--', 'x'], {}, '--reap-interval'],
    [['--log-level', 'loud', '--', 'x'], {}, 'trace, debug'],
    [['--', 'x'], { METAMCP_INIT_GRACE: 'soon' }, 'METAMCP_INIT_GRACE'],
    [['--', 'x'], { METAMCP_INIT_GROUP: 'maybe' }, 'METAMCP_INIT_GROUP'],
    [['--bogus', '--', 'x'], {}, '--bogus'],
    [['--match', '(', '--', 'x'], {}, '--match'],
    [['--pids-headroom', '120%', '--', 'x'], {}, '--pids-headroom'],
    [['--memory-headroom', 'lots', '--', 'x'], {}, '--memory-headroom'],
    [['--max-per-command', '0', '--', 'x'], {}, '--max-per-command'],
    [['--', 'x'], { METAMCP_INIT_MAX_INSTANCES: 'many' }, 'METAMCP_INIT_MAX_INSTANCES'],
    [[], {}, 'missing the command'],
  ])('exits 2 naming the option for %j %j', (argv, env, named) => {
    const { result, err } = parse(argv, env);
    expect(result).toEqual({ kind: 'exit', exitCode: 2 });
    expect(err).toContain(named);
  });

  // setTimeout turns any delay above 2^31-1 ms into 1 ms: a 115-day grace became an instant KILL.
  it.each([
    [['--grace', '9999999', '--', 'x'], {}, '--grace'],
    [['--reap-interval', '9999999', '--', 'x'], {}, '--reap-interval'],
    [['--stop-grace', '25d', '--', 'x'], {}, '--stop-grace'],
    [['--', 'x'], { METAMCP_INIT_INTERVAL: '40000m' }, 'METAMCP_INIT_INTERVAL'],
  ])('exits 2 with the accepted range for a duration too long for a timer: %j %j', (argv, env, named) => {
    const { result, err } = parse(argv, env);
    expect(result).toEqual({ kind: 'exit', exitCode: 2 });
    expect(err).toContain(named);
    expect(err).toContain('at most 24 days');
  });

  it('accepts the longest duration a timer can hold, in days too', () => {
    expect(parse(['--grace', '24d', '--', 'x']).result).toMatchObject({ config: { graceMs: 24 * 86_400_000 } });
    expect(parse(['--idle-after', '2h', '--', 'x']).result).toMatchObject({ config: { idleAfterMs: 7_200_000 } });
  });

  it('prints --help, with the variables, on stdout and exits 0', () => {
    const help = parse(['--help']);
    expect(help.result).toEqual({ kind: 'exit', exitCode: 0 });
    expect(help.out).toContain('METAMCP_INIT_GRACE');
  });

  it('prints --version on stdout and exits 0', () => {
    const version = parse(['--version']);
    expect(version.result).toEqual({ kind: 'exit', exitCode: 0 });
    expect(version.out).toBe('1.2.3\n');
  });
});
