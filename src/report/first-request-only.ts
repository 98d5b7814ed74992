import type { Socket } from 'node:net';

const END_OF_HEADERS = Buffer.from('\r\n\r\n');

/**
 * Hands a connection's HTTP parser no byte past the end of its first request's headers.
 * Node's parser runs over a whole chunk at once and calls the request handler for every
 * request in it, whatever the handler does with the socket: one 64 KiB chunk of pipelined
 * `GET /status` made 1,985 handler calls and took about 29 ms of PID 1's CPU in one turn of
 * its loop. The endpoint answers one request per connection (a probe sends one), so what
 * follows the first request's headers (pipelined requests, or a body, which no path reads)
 * is never parsed. Node offers no option for this: the parser's own `data` listener is
 * wrapped.
 */
export function parseFirstRequestOnly(socket: Socket): void {
  const feeders = socket.listeners('data') as ((chunk: Buffer) => void)[];
  if (feeders.length === 0) return;
  socket.removeAllListeners('data');
  // The last bytes seen, for a header end split between two chunks.
  let tail: Buffer = Buffer.alloc(0);
  let done = false;
  socket.on('data', (chunk: Buffer) => {
    if (done) return;
    const joined = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
    const end = joined.indexOf(END_OF_HEADERS);
    let fed = chunk;
    if (end === -1) tail = joined.subarray(Math.max(0, joined.length - (END_OF_HEADERS.length - 1)));
    else {
      done = true;
      fed = chunk.subarray(0, end + END_OF_HEADERS.length - tail.length);
    }
    for (const feed of feeders) feed.call(socket, fed);
  });
}
