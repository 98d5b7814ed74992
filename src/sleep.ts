/** Resolves after `ms` milliseconds: the one way the init waits. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
