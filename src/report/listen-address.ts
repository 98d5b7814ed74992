import { isIP } from 'node:net';

/** A numeric address and port: a host name would need a DNS lookup, which runs on libuv's thread pool. */
export type ListenAddress = { host: string; port: number };

/**
 * Parses `ip:port` or `[ipv6]:port`; the port may be 0 (any free port, said in the log).
 * Returns an error message for anything else, host names included.
 */
export function parseListenAddress(text: string): ListenAddress | string {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  if (!match || host === undefined) return 'Expected a numeric address and port, such as 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464.';
  const port = Number(match[3]);
  if (port > 65535) return `Expected a port from 0 to 65535, not ${port}.`;
  const family = isIP(host);
  if (family === 0) return `Expected a numeric IP address, not '${host}': a host name would need a DNS lookup.`;
  if (family === 6 && match[1] === undefined) return 'Expected an IPv6 address in brackets, such as [::1]:9464.';
  if (family === 4 && match[1] !== undefined) return 'Expected an IPv4 address without brackets, such as 127.0.0.1:9464.';
  return { host, port };
}

/** Where a client on this machine reaches a listener: the wildcard addresses mean loopback. */
export function connectAddressOf({ host, port }: ListenAddress): ListenAddress {
  if (host === '0.0.0.0') return { host: '127.0.0.1', port };
  if (host === '::') return { host: '::1', port };
  return { host, port };
}

/** `127.0.0.1:9464` or `[::1]:9464`. */
export function formatListenAddress({ host, port }: ListenAddress): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
