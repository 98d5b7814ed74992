// Asking a Node process to exit 0. To an app like MetaMCP, a launcher that exits 0 is a
// connection that closed, not a crash, whatever the server under it would do with a signal:
// the real `server-memory`, `server-sequential-thinking` and `server-filesystem` die of SIGINT
// and TERM (a crash each), and `npm exec`, a Node process, dies with them. Node has one door
// for this that every build has: SIGUSR1 opens its inspector on loopback, and one
// Runtime.evaluate through it runs `process.exit(0)`. The inspector is open for the few tens
// of milliseconds the request takes (about 40 ms for `npm exec` here), to the processes of
// the container's own network namespace only, and the guard connects only to a port the
// process itself listens on (its socket among its file descriptors), so never to another's.
import { readdirSync, readlinkSync } from 'node:fs';
import { get } from 'node:http';
import { basename } from 'node:path';
import { sleep } from '../sleep.js';
import { readProcText } from './read-file.js';
import { isStillRunning, type ProcAccess, signalProc } from './signal-proc.js';
import type { ProcRef } from './snapshot.js';

/** SIGUSR1 as a bit of a signal mask (bit n-1 is signal n). */
const SIGUSR1_BIT = 1n << 9n;

/**
 * What the exit request expresses: no `exit` listener may change the code (npm's exit handler
 * sets 1 when it was not called itself, "Exit handler never called!"), then exit 0, a moment
 * after the answer: an exit with a debugger attached waits for it to go ("Waiting for the
 * debugger to disconnect..."), and a connection dropped before the request ran loses it (seen
 * on the real `npm exec`: one request of two lost so).
 */
const EXIT_EXPRESSION = "setTimeout(() => { process.removeAllListeners('exit'); process.exit(0); }, 20); 'exiting'";

/** How an exit request ended: the process exited, no inspector of its own opened (`unavailable`), or it opened and the process ran on. */
export type ExitAnswer = 'exited' | 'unavailable' | 'ran-on';

/**
 * Whether the process is Node with its SIGUSR1 handler in place (/proc/PID/status SigCgt):
 * its executable is named node, and SIGUSR1 is caught. Any other process dies of SIGUSR1, so
 * none is ever sent one: neither a non-Node launcher (`uvx`, a shell) nor a Node started with
 * `--disable-sigusr1`, nor one too young to have set the handler.
 */
export function takesExitRequest(pid: number, procRoot = '/proc'): boolean {
  let exe: string;
  try {
    exe = readlinkSync(`${procRoot}/${pid}/exe`);
  } catch {
    return false;
  }
  if (!/^node(js)?$/.test(basename(exe.replace(/ \(deleted\)$/, '')))) return false;
  const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readProcText(`${procRoot}/${pid}/status`) ?? '')?.[1];
  return caught !== undefined && (BigInt(`0x${caught}`) & SIGUSR1_BIT) !== 0n;
}

/** 127.0.0.1, ::1, and the wildcards (an `--inspect-port=0.0.0.0:…` is reached on loopback too), as /proc/net/tcp* writes them. */
const REACHED_ON_LOOPBACK = new Set(['0100007F', '00000000', '00000000000000000000000001000000', '00000000000000000000000000000000']);

/**
 * The TCP ports the process listens on that loopback reaches: the LISTEN sockets of its network
 * namespace (/proc/PID/net/tcp and tcp6) whose inode is one of its file descriptors.
 */
export function loopbackPortsOf(pid: number, procRoot = '/proc'): Set<number> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`${procRoot}/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${procRoot}/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1]!);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return new Set();
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    for (const line of (readProcText(`${procRoot}/${pid}/net/${table}`) ?? '').split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '0A' || !inodes.has(fields[9]!)) continue;
      const [address, port] = fields[1]!.split(':');
      if (REACHED_ON_LOOPBACK.has(address!)) ports.add(Number.parseInt(port!, 16));
    }
  }
  return ports;
}

/** Requests to different processes could race for one port (9229 by default): one at a time. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Asks the process to exit 0 (see the top of this file). `waitMs` bounds the whole request: the
 * inspector opening, the answer, and the exit. An inspector that opened and did not see the
 * process out is closed again. Never sends SIGUSR1 to a process that does not take it.
 */
export function askNodeToExit(ref: ProcRef, access: ProcAccess, { waitMs, pollMs = 10 }: { waitMs: number; pollMs?: number }): Promise<ExitAnswer> {
  const asked = queue.then(() => requestExit(ref, access, Date.now() + waitMs, pollMs));
  queue = asked.catch(() => undefined);
  return asked;
}

async function requestExit(ref: ProcRef, access: ProcAccess, deadline: number, pollMs: number): Promise<ExitAnswer> {
  if (access.source.kind !== 'own') return 'unavailable';
  const procRoot = access.source.root;
  if (!takesExitRequest(ref.pid, procRoot)) return 'unavailable';
  const before = loopbackPortsOf(ref.pid, procRoot);
  if (signalProc(ref, 'SIGUSR1', access) !== 'sent') return 'unavailable';
  let port: number | undefined;
  while (port === undefined && Date.now() < deadline) {
    if (!isStillRunning(ref, access.source)) return 'exited';
    port = [...loopbackPortsOf(ref.pid, procRoot)].find((p) => !before.has(p));
    if (port === undefined) await sleep(pollMs);
  }
  // No port of its own: the default one was taken (another's inspector), or it is too slow.
  if (port === undefined) return 'unavailable';
  const asked = await evaluateThenClose(port, EXIT_EXPRESSION, deadline).catch(() => false);
  while (asked && Date.now() < deadline) {
    if (!isStillRunning(ref, access.source)) return 'exited';
    await sleep(pollMs);
  }
  if (!isStillRunning(ref, access.source)) return 'exited';
  // Ran on with its inspector open: close it, so that nothing else may use it.
  await evaluateThenClose(port, 'process._debugEnd()', Date.now() + 1000).catch(() => false);
  return 'ran-on';
}

/** The inspector's debugger address for its one target (GET /json/list), or undefined. */
function debuggerUrlOf(port: number, deadline: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: '/json/list', timeout: Math.max(1, deadline - Date.now()) }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        try {
          const targets = JSON.parse(body) as { webSocketDebuggerUrl?: string }[];
          resolve(targets.length === 1 ? targets[0]!.webSocketDebuggerUrl : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

/**
 * Sends one Runtime.evaluate, waits for its answer, and drops the connection: the process then
 * runs with no debugger attached. Resolves true once answered.
 */
async function evaluateThenClose(port: number, expression: string, deadline: number): Promise<boolean> {
  const given = await debuggerUrlOf(port, deadline);
  if (given === undefined || !URL.canParse(given)) return false;
  // The target's path, on the port found among the process's own sockets, through loopback.
  const url = `ws://127.0.0.1:${port}${new URL(given).pathname}`;
  // Loaded at the first request: an init that never makes one never holds it in memory.
  const { default: WebSocket } = await import('ws');
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { handshakeTimeout: Math.max(1, deadline - Date.now()), perMessageDeflate: false });
    const timer = setTimeout(() => socket.terminate(), Math.max(1, deadline - Date.now()));
    socket.on('open', () => socket.send(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression } })));
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { id?: number }).id !== 1) return;
      resolve(true);
      socket.terminate();
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
