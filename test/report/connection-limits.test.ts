import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { limitConnections } from '../../src/report/connection-limits.js';

/** A stand-in socket from `address`: destroy() closes it, as a real one does. */
function fakeSocket(address: string): Socket & { destroyed: boolean } {
  const socket = new EventEmitter() as Socket & { destroyed: boolean };
  Object.assign(socket, { remoteAddress: address, destroyed: false });
  socket.destroy = () => {
    (socket as { destroyed: boolean }).destroyed = true;
    socket.emit('close');
    return socket;
  };
  return socket;
}

describe('limitConnections', () => {
  it('admits every new connection and pushes the oldest out beyond the cap', () => {
    const limits = limitConnections({ maxConnections: 3, maxPerAddress: 10 });
    const sockets = ['a', 'b', 'c', 'd', 'e'].map(fakeSocket);
    for (const socket of sockets) limits.admit(socket);
    expect(sockets.map((s) => s.destroyed)).toEqual([true, true, false, false, false]);
    expect(limits.open()).toBe(3);
    expect(limits.evicted()).toBe(2);
  });

  it('bounds what one address holds, without touching the others', () => {
    const limits = limitConnections({ maxConnections: 100, maxPerAddress: 2 });
    const probe = fakeSocket('10.0.0.9');
    limits.admit(probe);
    const flood = Array.from({ length: 5 }, () => fakeSocket('10.0.0.1'));
    for (const socket of flood) limits.admit(socket);
    expect(flood.filter((s) => !s.destroyed)).toHaveLength(2);
    expect(probe.destroyed).toBe(false);
  });

  it('forgets a connection that closed by itself', () => {
    const limits = limitConnections({ maxConnections: 2, maxPerAddress: 2 });
    const first = fakeSocket('a');
    limits.admit(first);
    first.emit('close');
    limits.admit(fakeSocket('a'));
    limits.admit(fakeSocket('a'));
    expect(limits.evicted()).toBe(0);
  });
});
