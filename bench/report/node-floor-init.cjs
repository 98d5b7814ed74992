// The floor of a Node PID 1, a reference for the PID 1 benchmark, not an init to use: it spawns
// the command, reaps on SIGCHLD with the same system calls as metamcp-init (waitid names an
// exited child without reaping it, waitpid(pid) reaps it, libuv's own child is left to libuv),
// forwards TERM, INT and USR1, and exits with the child's status. Nothing else: no guard, no
// log, no /proc, no pidfds, no periodic sweep. What metamcp-init costs beyond it is its own;
// what it costs beyond tini is Node's.
const { spawn } = require('node:child_process');
const koffi = require('koffi');

const lib = koffi.load(null);
const waitpid = lib.func('int waitpid(int pid, _Out_ int *status, int options)');
const waitid = lib.func('int waitid(int idtype, int id, _Out_ uint8_t *infop, int options)');
const [P_ALL, WNOHANG, WEXITED, WNOWAIT] = [0, 1, 4, 0x01000000];
const info = Buffer.alloc(128);

const child = spawn(process.argv[2], process.argv.slice(3), { stdio: 'inherit' });
let childRunning = true;
process.on('SIGCHLD', () => {
  for (;;) {
    if (waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) !== 0) return;
    const pid = info.readInt32LE(16);
    if (pid <= 0 || (childRunning && pid === child.pid)) return;
    if (waitpid(pid, [0], WNOHANG) !== pid) return;
  }
});
for (const signal of ['SIGTERM', 'SIGINT', 'SIGUSR1']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  childRunning = false;
  process.exit(code ?? 128 + (signal ? require('node:os').constants.signals[signal] : 0));
});
