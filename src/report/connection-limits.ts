import type { Socket } from 'node:net';

/** Connections held at most, in all and from one address; a new one beyond it pushes the oldest out. */
export type ConnectionLimits = { maxConnections: number; maxPerAddress: number };

/**
 * Admits every new connection and keeps the totals bounded by closing the oldest ones, the
 * way HAProxy's and Envoy's operators keep a health check answerable: a probe is a new
 * connection that is answered in a millisecond, so it is never the oldest, while clients
 * that hold connections open (keep-alive, a header a second) are the first to go. A cap that
 * refuses new connections instead (Node's `server.maxConnections`) lets whoever holds them
 * fail every probe. Returns how many were pushed out so far.
 */
export function limitConnections(limits: ConnectionLimits): { admit: (socket: Socket) => void; evicted: () => number; open: () => number } {
  // Insertion order is age order: the first entry is the oldest.
  const open = new Set<Socket>();
  const byAddress = new Map<string, Set<Socket>>();
  let evicted = 0;
  const evict = (socket: Socket | undefined) => {
    if (!socket) return;
    evicted += 1;
    forget(socket);
    socket.destroy();
  };
  const forget = (socket: Socket) => {
    open.delete(socket);
    const address = socket.remoteAddress ?? '';
    const same = byAddress.get(address);
    same?.delete(socket);
    if (same?.size === 0) byAddress.delete(address);
  };
  return {
    admit: (socket) => {
      const address = socket.remoteAddress ?? '';
      const before = byAddress.get(address);
      if (before && before.size >= limits.maxPerAddress) evict(before.values().next().value);
      if (open.size >= limits.maxConnections) evict(open.values().next().value);
      const same = byAddress.get(address) ?? new Set<Socket>();
      byAddress.set(address, same);
      open.add(socket);
      same.add(socket);
      socket.once('close', () => forget(socket));
    },
    evicted: () => evicted,
    open: () => open.size,
  };
}
