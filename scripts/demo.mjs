// The demo: the bundled init runs a child that leaves 300 orphans behind, then shows that
// every one of them was reaped, that a child ignoring TERM is stopped after the grace,
// that the exit status passes through, and that the guard stops duplicate and orphaned MCP
// servers leaked by a MetaMCP-like app. Runs as real PID 1 when root, else as a subreaper.
import { spawnSync } from 'node:child_process';

const init = ['dist/metamcp-init.cjs', '--log-format', 'pretty', '--grace', '2s', '--'];
const asPid1 = process.getuid?.() === 0 && spawnSync('unshare', ['--version']).status === 0;
const prefix = asPid1 ? ['unshare', '--pid', '--fork', '--mount-proc'] : [];
const node = process.execPath;

function run(title, command, initArgs = []) {
  process.stderr.write(`\n=== ${title}\n$ metamcp-init ${initArgs.join(' ')} -- ${command.join(' ')}\n`);
  const argv = [...prefix, node, ...init.slice(0, -1), ...initArgs, '--', ...command];
  const { status } = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' });
  process.stderr.write(`=== exit status: ${status}\n`);
  return status;
}

process.stderr.write(`metamcp-init demo, ${asPid1 ? 'as real PID 1 (unshare --pid)' : 'as a child subreaper (not root)'}\n`);
run('300 orphans, reaped (the child prints what it finds in /proc)', [node, 'test/fixtures/orphans.js', '300', '0.5']);
run('docker stop on a child that ignores TERM and left grandchildren: all killed after the 2 s grace', [
  'sh',
  '-c',
  `trap '' TERM; ${node} test/fixtures/leave-grandchildren.js </dev/null; kill -TERM $PPID; exec ${node} test/fixtures/ignore-term.js`,
]);
run('exit status passes through', ['sh', '-c', 'exit 42']);
run(
  'the guard: 4 sessions of one MCP server (cap 2), and 2 sessions closed by killing only the launcher (orphans)',
  [
    'sh',
    '-c',
    `${node} test/fixtures/leak-sim/metamcp-like.js --sessions-never-closed 4 --close-kills-launcher 2 --server-flags '--ignore-eof --ignore-term' & sleep 5; kill -TERM $!; wait`,
  ],
  ['--max-per-command', '2', '--orphan-grace', '1s', '--stop-grace', '1s'],
);
