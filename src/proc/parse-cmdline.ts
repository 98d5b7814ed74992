/**
 * Splits /proc/PID/cmdline at NUL. Trailing empty strings are dropped: npm overwrites its
 * argv with one title string followed by NUL padding, which must read as one argument.
 */
export function parseCmdline(raw: string): string[] {
  const argv = raw.split('\0');
  while (argv.length > 0 && argv[argv.length - 1] === '') argv.pop();
  return argv;
}
