#!/usr/bin/env node
// Writes docker/seccomp-pidfd-getfd.json: Docker's default seccomp profile with one rule more,
// pidfd_getfd allowed without CAP_SYS_PTRACE, so that metamcp-init can close a server's stdin
// (src/proc/close-stdin.ts) and nothing else widens. Docker's default allows pidfd_getfd only
// with CAP_SYS_PTRACE, and that capability would also allow ptrace, process_vm_readv and
// process_vm_writev on every process of the container.
// Usage: make-seccomp-profile.mjs <docker's default.json> [out]
//   Docker's default.json is profiles/seccomp/default.json of the Docker engine's source at its
//   version; Debian ships it in golang-github-docker-docker-dev. `--check` compares instead of writing.
import { readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const check = args[0] === '--check';
const [source, out = new URL('../../docker/seccomp-pidfd-getfd.json', import.meta.url).pathname] = check ? args.slice(1) : args;
if (!source) {
  console.error('usage: make-seccomp-profile.mjs [--check] <docker default.json> [out]');
  process.exit(2);
}

const profile = JSON.parse(readFileSync(source, 'utf8'));
if (profile.defaultAction !== 'SCMP_ACT_ERRNO' || !Array.isArray(profile.syscalls)) {
  console.error(`${source}: not Docker's default seccomp profile (defaultAction SCMP_ACT_ERRNO and a syscalls list expected)`);
  process.exit(2);
}
const rule = {
  names: ['pidfd_getfd'],
  action: 'SCMP_ACT_ALLOW',
  args: [],
  comment: "metamcp-init: a copy of a launcher's stdin, to close it (shutdown), without CAP_SYS_PTRACE",
  includes: { minKernel: '5.6' },
  excludes: {},
};
const text = `${JSON.stringify({ ...profile, syscalls: [...profile.syscalls, rule] }, null, '\t')}\n`;
if (check) {
  const shipped = readFileSync(out, 'utf8');
  if (shipped !== text) {
    console.error(`${out} is not ${source} plus the pidfd_getfd rule: run scripts/docker/make-seccomp-profile.mjs ${source}`);
    process.exit(1);
  }
  console.log(`${out}: Docker's default (${source}) plus pidfd_getfd`);
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
