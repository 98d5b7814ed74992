// MetaMCP's backend runs as `node dist/index.js` in `…/apps/backend` (its image's WORKDIR is
// /app), under its docker-entrypoint.sh, or from a folder named after it.
const METAMCP_PLACE = /metamcp|\/app\/apps\/backend|apps\/backend\/dist\//i;

/**
 * Whether one of the app's processes looks like MetaMCP's backend, from its command line and
 * working directory: then every stop of an instance it holds is, for it, a crash of that
 * server, and the log says so.
 */
export function looksLikeMetaMcp(argv: readonly string[], cwd: string | undefined): boolean {
  return METAMCP_PLACE.test(argv.join(' ')) || (cwd !== undefined && METAMCP_PLACE.test(cwd));
}
