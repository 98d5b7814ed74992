#!/usr/bin/env bash
# Prints the path of Docker's default seccomp profile (profiles/seccomp/default.json of the
# engine's source), taken from Debian's golang-github-docker-docker-dev package of the same
# version as its docker.io, unpacked into a cache directory: nothing is installed.
# Usage: docker-default-seccomp.sh [cache-dir]
set -euo pipefail
cache=${1:-${TMPDIR:-/tmp}/metamcp-init-docker-seccomp}
inner=usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
if [ ! -f "$cache/$inner" ]; then
  mkdir -p "$cache"
  (
    cd "$cache"
    apt-get download golang-github-docker-docker-dev >/dev/null 2>&1 || { apt-get update -qq && apt-get download golang-github-docker-docker-dev >/dev/null; }
    dpkg-deb --fsys-tarfile golang-github-docker-docker-dev_*.deb | tar -x "./$inner"
    rm -f golang-github-docker-docker-dev_*.deb
  )
fi
echo "$cache/$inner"
