// Options for a guard that trims within a second or two, whatever a trim costs the app.

/** `cap`: the trim's own flag and value, e.g. ['--max-instances', '1']. */
export function quickTrims(cap: string[], stopGrace = '1s'): string[] {
  return [
    ...cap,
    '--idle-after',
    '1s',
    '--start-grace',
    '1s',
    '--stop-grace',
    stopGrace,
    '--interval',
    '200ms',
    '--app-tolerates-crashes',
    '--crash-budget',
    'unlimited',
  ];
}
