import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { GuardSettings } from '../guard/setup-guard.js';
import type { InitConfig } from '../init/run-init.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../log.js';
import type { ListenAddress } from '../report/listen-address.js';
import {
  parseBoolean,
  parseBytes,
  parseChoice,
  parseCountOrUnlimited,
  parseDurationMs,
  parseExitCodes,
  parseHeadroom,
  parseIntegerAtLeast,
  parseListen,
  parsePatterns,
  parsePositiveDurationMs,
  parseRewrites,
  parseSignal,
} from './parse-values.js';

/** Everything the command line and METAMCP_INIT_* say. */
export type Config = InitConfig &
  GuardSettings & { logLevel: LogLevel; logFormat: LogFormat; metricsListen?: ListenAddress; parentDeathSignal?: NodeJS.Signals };

/** The outcome of reading the command line: run, or exit now with a status. */
export type ParsedArgs = { kind: 'run'; config: Config } | { kind: 'exit'; exitCode: number };

/** Where commander's own output goes; stdout only for --help and --version, which ask for it. */
export type Output = { writeOut: (text: string) => void; writeErr: (text: string) => void };

type OptionSpec = {
  flags: string;
  key: keyof Config;
  description: string;
  defaultValue?: string;
  parse: (value: string) => unknown;
  /** Repeatable: every use adds to a list (and the variable holds one item per line). */
  repeatable?: boolean;
};

// One table drives the flags, their METAMCP_INIT_* variables and their defaults.
const OPTIONS: readonly OptionSpec[] = [
  {
    flags: '--grace <duration>',
    key: 'graceMs',
    defaultValue: '10s',
    parse: parseDurationMs,
    description: 'how long processes get after TERM before KILL, at shutdown',
  },
  { flags: '-g, --group', key: 'group', parse: parseBoolean, description: "forward signals to the child's process group, not the child alone" },
  {
    flags: '-e, --remap-exit <code>',
    key: 'remapExitCodes',
    parse: parseExitCodes,
    repeatable: true,
    description:
      "exit 0 when the main child's status is this one, e.g. 143 for an app that exits so on a clean TERM (128+N for a death by signal N, as tini's -e; repeatable)",
  },
  {
    flags: '-r, --rewrite <from:to>',
    key: 'rewrites',
    parse: parseRewrites,
    repeatable: true,
    description:
      "forward signal FROM as TO, e.g. TERM:QUIT, or drop it with TO 0, e.g. USR1:0 (as dumb-init's --rewrite; the init's own shutdown still follows the signal received; repeatable)",
  },
  {
    flags: '-p, --parent-death-signal <signal>',
    key: 'parentDeathSignal',
    parse: parseSignal,
    description:
      "the signal the init gets when its own parent dies, e.g. TERM to shut down as for docker stop (as tini's -p; for `npx metamcp-init` under a process that may be killed; default: none)",
  },
  {
    flags: '--reap-interval <duration>',
    key: 'reapIntervalMs',
    defaultValue: '1s',
    parse: parsePositiveDurationMs,
    description: 'how often to sweep for zombies besides on SIGCHLD',
  },
  {
    flags: '--match <regex>',
    key: 'match',
    parse: parsePatterns,
    repeatable: true,
    description:
      "launcher pattern, matched against a process's program and package word (`npm exec @pkg`, `uvx mcp-server-x`), not the rest of its argv; replaces the defaults (repeatable)",
  },
  {
    flags: '--also-match <regex>',
    key: 'alsoMatch',
    parse: parsePatterns,
    repeatable: true,
    description: 'launcher pattern added to the defaults (repeatable)',
  },
  {
    flags: '--max-per-command <n>',
    key: 'maxPerCommand',
    defaultValue: '8',
    parse: parseIntegerAtLeast(1),
    description: 'most instances of one command line; beyond it, idle ones go (longest idle first) while none of them is busy or starting',
  },
  {
    flags: '--max-instances <n>',
    key: 'maxInstances',
    parse: parseIntegerAtLeast(1),
    description: 'most instances in all; beyond it, idle ones go (default: no total cap)',
  },
  {
    flags: '--orphan-grace <duration>',
    key: 'orphanGraceMs',
    defaultValue: '10s',
    parse: parseDurationMs,
    description: 'how long an orphaned instance may live before it is stopped',
  },
  {
    flags: '--idle-after <duration>',
    key: 'idleAfterMs',
    defaultValue: '2m',
    parse: parseDurationMs,
    description: 'an instance whose processes used no CPU and did no I/O for this long is idle',
  },
  {
    flags: '--start-grace <duration>',
    key: 'startGraceMs',
    defaultValue: '10s',
    parse: parseDurationMs,
    description: 'an instance younger than this (or whose tree still grows) is starting: never stopped as a duplicate or idle',
  },
  {
    flags: '--pids-headroom <tasks|percent>',
    key: 'pidsHeadroom',
    defaultValue: '20%',
    parse: parseHeadroom(parseIntegerAtLeast(1), 'a number of tasks such as 30'),
    description: 'stop instances when pids.current comes this close to pids.max',
  },
  {
    flags: '--pids-max <tasks>',
    key: 'pidsMax',
    parse: parseIntegerAtLeast(1),
    description: "a pids limit the init cannot see in its cgroup, such as Kubernetes' podPidsLimit; the tighter of it and pids.max applies",
  },
  {
    flags: '--memory-headroom <bytes|percent>',
    key: 'memoryHeadroom',
    defaultValue: '10%',
    parse: parseHeadroom(parseBytes, 'a size such as 512MiB'),
    description: 'stop instances when memory use comes this close to its limit',
  },
  {
    flags: '--stop-grace <duration>',
    key: 'stopGraceMs',
    defaultValue: '3s',
    parse: parseDurationMs,
    description: 'time an instance gets after TERM before KILL',
  },
  {
    flags: '--interval <duration>',
    key: 'intervalMs',
    defaultValue: '1s',
    parse: parsePositiveDurationMs,
    description:
      'full scan at least this often, every 10 intervals while there is no MCP instance (pids.current and memory usage are read every 100 ms near a limit)',
  },
  {
    flags: '--app-tolerates-crashes',
    key: 'appToleratesCrashes',
    parse: parseBoolean,
    description:
      'the app tolerates crashes of its MCP servers: duplicates and idle instances may then be trimmed, and stops made at the high mark, even where a stop is a crash to the app (by default only stops that cost it nothing, until a limit is in danger)',
  },
  {
    flags: '--max-starting <n>',
    key: 'maxStarting',
    defaultValue: '4',
    parse: parseIntegerAtLeast(0),
    description:
      'once a limit is at its high mark, most MCP instances starting at once (and only as many as keep the limit short of it once grown); the youngest beyond wait stopped (SIGSTOP) until one has started, their app asks them to close, or 60 s have passed (0: never hold)',
  },
  {
    flags: '--signals-only',
    key: 'signalsOnly',
    parse: parseBoolean,
    description:
      "stop MCP instances by signals only: by default a settled instance whose stdin is a socket is first stopped by closing it (a copy of the launcher's fd 0 by pidfd_getfd, then shutdown), the MCP stdio transport's own shutdown: the server exits 0 on EOF, which an app like MetaMCP counts as no crash",
  },
  {
    flags: '--crash-budget <n|unlimited>',
    key: 'crashBudget',
    parse: parseCountOrUnlimited,
    description:
      "most stops of one MCP server that its app may count as a crash, over the app's life (MetaMCP: MCP_MAX_ATTEMPTS - 1); default: 0 when the app looks like MetaMCP, whose released version puts a server in ERROR at its first crash, unlimited otherwise",
  },
  {
    flags: '--show-command-lines',
    key: 'showCommandLines',
    parse: parseBoolean,
    description:
      'publish whole command lines in the log, /metrics and /status, with values that look like secrets masked, which cannot catch every form: by default only a program and its package or script word are published, and a short hash of the rest',
  },
  { flags: '--dry-run', key: 'dryRun', parse: parseBoolean, description: 'log what the guard would stop, and stop nothing' },
  { flags: '--guard-off', key: 'guardOff', parse: parseBoolean, description: 'run as a plain init: no MCP guard at all' },
  {
    flags: '--metrics-listen <ip:port>',
    key: 'metricsListen',
    parse: parseListen,
    description: 'serve /metrics (Prometheus), /healthz and /status on this numeric address, e.g. 0.0.0.0:9464 (default: off)',
  },
  { flags: '--log-level <level>', key: 'logLevel', defaultValue: 'info', parse: parseChoice(LOG_LEVELS), description: `log level: ${LOG_LEVELS.join(', ')}` },
  {
    flags: '--log-format <format>',
    key: 'logFormat',
    defaultValue: 'auto',
    parse: parseChoice(LOG_FORMATS),
    description: 'json, pretty, or auto (pretty when stderr is a terminal)',
  },
];

/** METAMCP_INIT_GRACE for --grace: every option has its variable. */
export function envNameOf(flags: string): string {
  const long = /--([a-z-]+)/.exec(flags)![1]!;
  return `METAMCP_INIT_${long.replace(/-/g, '_').toUpperCase()}`;
}

/** Reads argv (without node and the script) and the environment into a Config; flags win. */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv, output: Output, version: string): ParsedArgs {
  const program = new Command('metamcp-init')
    .description('PID 1 for MetaMCP containers: runs <command>, reaps zombies, forwards signals, stops everything gracefully.')
    .usage('[options] -- <command> [args...]')
    .version(version, '-V, --version')
    .argument('[command...]', 'the main child and its arguments')
    .passThroughOptions()
    .exitOverride()
    .configureOutput({ ...output, outputError: (text, write) => write(text) })
    .addHelpText(
      'after',
      '\nEvery option can also be set by its METAMCP_INIT_* variable; a flag wins over it.' +
        '\n\nmetamcp-init status [--json] [--address <ip:port>]: what a running init sees (it must run with --metrics-listen).',
    );
  for (const spec of OPTIONS) {
    const option = new Option(spec.flags, `${spec.description} [${envNameOf(spec.flags)}]`);
    if (spec.defaultValue !== undefined) option.default(spec.defaultValue);
    // A flag without a value (--group) is simply true; its parser serves the environment.
    if (spec.repeatable) option.argParser((value: string, list: unknown) => [...((list as string[]) ?? []), ...(spec.parse(value) as string[])]);
    else if (option.required) option.argParser(spec.parse);
    program.addOption(option);
  }

  try {
    program.parse(argv as string[], { from: 'user' });
    const values: Record<string, unknown> = {};
    for (const spec of OPTIONS) {
      const name = program.options.find((o) => o.flags === spec.flags)!.attributeName();
      const fromEnv = env[envNameOf(spec.flags)];
      if (program.getOptionValueSource(name) === 'cli') values[spec.key] = program.getOptionValue(name);
      else if (fromEnv !== undefined) values[spec.key] = parseEnv(spec, fromEnv);
      else values[spec.key] = defaultOf(spec);
    }
    const command = program.args;
    if (command.length === 0) throw usageError('missing the command to run: metamcp-init [options] -- <command> [args...]');
    return { kind: 'run', config: { ...(values as Omit<Config, 'command'>), command } };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return { kind: 'exit', exitCode: 0 };
    if (error.code === 'metamcp-init.usage') output.writeErr(`metamcp-init: ${error.message}\n`);
    output.writeErr("Try 'metamcp-init --help'.\n");
    return { kind: 'exit', exitCode: 2 };
  }
}

/** An option's value when neither the command line nor the environment sets it. */
function defaultOf(spec: OptionSpec): unknown {
  if (spec.defaultValue !== undefined) return spec.parse(spec.defaultValue);
  return isFlag(spec) ? false : spec.repeatable ? [] : undefined;
}

/** The value of every option by default: the one table the CLI and the tests' model both read. */
export function defaultValues(): Omit<Config, 'command'> {
  return Object.fromEntries(OPTIONS.map((spec) => [spec.key, defaultOf(spec)])) as Omit<Config, 'command'>;
}

function isFlag(spec: OptionSpec): boolean {
  return !spec.flags.includes('<');
}

function parseEnv(spec: OptionSpec, value: string): unknown {
  try {
    return spec.parse(value);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    throw usageError(`environment variable ${envNameOf(spec.flags)} (for ${spec.flags}) has invalid value '${value}'. ${error.message}`);
  }
}

function usageError(message: string): CommanderError {
  return new CommanderError(2, 'metamcp-init.usage', message);
}
