// `metamcp-init status`: asks the running init for its report and prints it.
import { Command, CommanderError, Option } from 'commander';
import { fetchReport } from '../report/fetch-report.js';
import type { ListenAddress } from '../report/listen-address.js';
import { printable, printableJson } from '../report/printable.js';
import { formatStatus } from '../report/status-table.js';
import type { Output } from './options.js';
import { parseListen, parsePositiveDurationMs } from './parse-values.js';

const ADDRESS_VARIABLE = 'METAMCP_INIT_METRICS_LISTEN';

/**
 * Prints the running init's status; 0 when it answered, 1 when it could not be reached, 2
 * on a usage error. Its address is the init's own --metrics-listen, which a `docker exec`
 * finds in the container's environment.
 */
export async function runStatus(argv: readonly string[], env: NodeJS.ProcessEnv, output: Output): Promise<number> {
  const program = new Command('metamcp-init status')
    .description("Shows what the running init sees: health, limits, MCP instances by command, the last stops. Asks the init's metrics endpoint.")
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--address <ip:port>', `the init's --metrics-listen address [${ADDRESS_VARIABLE}]`).argParser(parseListen))
    .addOption(new Option('--timeout <duration>', 'how long to wait for an answer').default(3000, '3s').argParser(parsePositiveDurationMs))
    .exitOverride()
    .configureOutput({ ...output, outputError: (text, write) => write(text) });
  let options: { json?: boolean; address?: ListenAddress; timeout: number };
  try {
    program.parse(argv as string[], { from: 'user' });
    options = program.opts();
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return error.code === 'commander.helpDisplayed' ? 0 : 2;
  }
  let address = options.address;
  if (address === undefined) {
    const fromEnv = env[ADDRESS_VARIABLE];
    if (fromEnv === undefined || fromEnv === '') {
      output.writeErr(
        `metamcp-init status: the init's metrics address is not known: pass --address <ip:port>, or set ${ADDRESS_VARIABLE} as the init has it (start the init with --metrics-listen to serve it)\n`,
      );
      return 1;
    }
    try {
      address = parseListen(fromEnv);
    } catch (error) {
      output.writeErr(`metamcp-init status: ${ADDRESS_VARIABLE} has invalid value '${fromEnv}'. ${(error as Error).message}\n`);
      return 2;
    }
  }
  const fetched = await fetchReport(address, options.timeout);
  if (!fetched.ok) {
    // What went wrong may quote what the endpoint said: it reaches the terminal as text only.
    output.writeErr(`metamcp-init status: ${printable(fetched.error)}\n`);
    return 1;
  }
  let text: string;
  try {
    text = options.json ? `${printableJson(JSON.stringify(fetched.report, null, 2))}\n` : formatStatus(fetched.report);
  } catch (error) {
    // A report of the right shape with figures that make no sense: one line, not a stack.
    output.writeErr(`metamcp-init status: cannot print the report: ${printable((error as Error).message)}\n`);
    return 1;
  }
  output.writeOut(text);
  return 0;
}
