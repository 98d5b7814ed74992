#!/usr/bin/env node
// What an idle stdio MCP server tree does on its own. Starts `npx -y <package>`
// the way MetaMCP does (detached, stdin/stdout piped), initializes it like an MCP
// client, optionally uses it once (tools/list and a call of its echo tool), then
// leaves it idle and reports, per process of the tree (npm exec, sh, node server),
// the CPU time (utime+stime from /proc/PID/stat) and the I/O (rchar/wchar from
// /proc/PID/io) spent over the idle window, plus what the server wrote to stdout.
// usage: node idle-instance.mjs [--package @modelcontextprotocol/server-everything]
//          [--idle 60s] [--use yes|no]
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const args = Object.fromEntries(process.argv.slice(2).flatMap((word, i, all) => (word.startsWith('--') ? [[word.slice(2), all[i + 1]]] : [])));
const pkg = args.package ?? '@modelcontextprotocol/server-everything';
const idleMs = Number(/^(\d+)s?$/.exec(args.idle ?? '60s')?.[1] ?? 60) * 1000;
const use = (args.use ?? 'yes') !== 'no';
const TICKS = 100; // USER_HZ on Linux

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const read = (file) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

function figures(pid) {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const io = Object.fromEntries(
    (read(`/proc/${pid}/io`) ?? '')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [key, value] = line.split(': ');
        return [key, Number(value)];
      }),
  );
  const threads = Number(/Threads:\s+(\d+)/.exec(read(`/proc/${pid}/status`) ?? '')?.[1]);
  return {
    cpuTicks: Number(fields[11]) + Number(fields[12]),
    rchar: io.rchar,
    wchar: io.wchar,
    threads,
    comm: (read(`/proc/${pid}/cmdline`) ?? '').replaceAll('\0', ' ').trim().slice(0, 80),
  };
}

function tree(pid) {
  const children = (read(`/proc/${pid}/task/${pid}/children`) ?? '').trim().split(' ').filter(Boolean).map(Number);
  return [pid, ...children.flatMap(tree)];
}

const child = spawn('npx', ['-y', pkg], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
let stdoutBytes = 0;
let buffer = '';
const waiting = new Map();
const notifications = [];
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  stdoutBytes += Buffer.byteLength(chunk);
  buffer += chunk;
  for (let at = buffer.indexOf('\n'); at !== -1; at = buffer.indexOf('\n')) {
    const line = buffer.slice(0, at);
    buffer = buffer.slice(at + 1);
    try {
      const message = JSON.parse(line);
      if (message.method === undefined && waiting.has(message.id)) waiting.get(message.id)(message);
      else {
        notifications.push({ at: Date.now(), method: message.method, request: message.id !== undefined });
        // Answer what the server asks the way an SDK client without capabilities does.
        if (message.id !== undefined) {
          const reply = message.method === 'ping' ? { result: {} } : { error: { code: -32601, message: 'Method not found' } };
          child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: message.id, ...reply })}\n`);
        }
      }
    } catch {
      /* not JSON */
    }
  }
});
let stderrText = '';
child.stderr.setEncoding('utf8');
child.stderr.on('data', (chunk) => {
  stderrText += chunk;
});
let exited;
child.on('exit', (code, signal) => {
  exited = { code, signal, at: new Date().toISOString() };
});
let nextId = 1;
const request = (method, params) =>
  new Promise((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
  });
const cleanup = () => {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
};
process.on('exit', cleanup);

try {
  await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'idle-probe', version: '1' } });
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  if (use) {
    const { result } = await request('tools/list', {});
    const echo = result.tools.find((tool) => tool.name.endsWith('echo'));
    if (echo) await request('tools/call', { name: echo.name, arguments: { message: 'hello' } });
  }
  await sleep(10000); // let start-up work finish
  const pids = tree(child.pid);
  const before = new Map(pids.map((pid) => [pid, figures(pid)]));
  const stdoutBefore = stdoutBytes;
  const notificationsBefore = notifications.length;
  // Every 5 s: CPU ms and rchar per process since the previous look, to see timers.
  const series = Object.fromEntries(pids.map((pid) => [pid, []]));
  let last = before;
  for (let waited = 0; waited < idleMs; waited += 5000) {
    await sleep(Math.min(5000, idleMs - waited));
    const now = new Map(pids.map((pid) => [pid, figures(pid)]));
    for (const pid of pids) {
      const a = last.get(pid);
      const b = now.get(pid);
      series[pid].push(a && b ? `${((b.cpuTicks - a.cpuTicks) * 1000) / TICKS}ms/${b.rchar - a.rchar}B` : 'gone');
    }
    last = now;
  }
  const rows = pids.map((pid) => {
    const a = before.get(pid);
    const b = figures(pid);
    if (!a || !b) return { pid, gone: true };
    return {
      pid,
      process: b.comm,
      threads: b.threads,
      cpuMs: ((b.cpuTicks - a.cpuTicks) * 1000) / TICKS,
      rcharBytes: b.rchar - a.rchar,
      wcharBytes: b.wchar - a.wchar,
      every5s: series[pid].join(' '),
    };
  });
  const methods = {};
  for (const n of notifications.slice(notificationsBefore))
    methods[`${n.request ? 'request' : 'notification'} ${n.method}`] = (methods[`${n.request ? 'request' : 'notification'} ${n.method}`] ?? 0) + 1;
  console.log(
    JSON.stringify(
      {
        package: pkg,
        used: use,
        idleSeconds: idleMs / 1000,
        processes: rows,
        serverStdoutBytes: stdoutBytes - stdoutBefore,
        serverMessages: methods,
        serverMessagesBeforeIdle: notifications.slice(0, notificationsBefore).map((n) => n.method),
        launcherExit: exited,
        stderr: stderrText.slice(-2000),
      },
      null,
      2,
    ),
  );
} finally {
  cleanup();
  process.exit(0);
}
