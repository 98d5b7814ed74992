/**
 * How much of /proc/PID/cmdline the init reads and keeps: any process chooses its own
 * command line, up to 128 KiB per argument and 2 MiB in all, and 60 such processes
 * doubled the init's memory and kept it half busy (issue 8). Launchers and keys are
 * told apart well within the first 4 KiB.
 */
export const CMDLINE_LIMIT_BYTES = 4096;

/**
 * Splits /proc/PID/cmdline at NUL. Trailing empty strings are dropped: npm overwrites its
 * argv with one title string followed by NUL padding, which must read as one argument.
 * A command line cut at CMDLINE_LIMIT_BYTES ends with a partial argument, kept as it is.
 */
export function parseCmdline(raw: string): string[] {
  const argv = raw.split('\0');
  while (argv.length > 0 && argv[argv.length - 1] === '') argv.pop();
  return argv;
}
