#!/usr/bin/env bash
# Makes a Docker engine answer for `npm run test:docker`: installs Debian's docker.io,
# docker-compose and busybox-static (the shell of the test's base image) if missing, starts
# dockerd if `docker info` fails, and waits up to 60 s for it. Needs root.
# dockerd runs without iptables and without the docker0 bridge: containers get `none`,
# `host`, or a network compose creates; nothing is routed off this machine.
set -euo pipefail

if [ "${METAMCP_INIT_SKIP_DOCKER:-}" = 1 ]; then
  echo "ensure-docker: skipped (METAMCP_INIT_SKIP_DOCKER=1)"
  exit 0
fi

if docker info >/dev/null 2>&1 && command -v docker-compose >/dev/null && dpkg -s busybox-static >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "ensure-docker: needs root to install and start Docker; or set METAMCP_INIT_SKIP_DOCKER=1 to skip the docker tests" >&2
  exit 1
fi

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
if ((${#missing[@]})); then
  echo "ensure-docker: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log=/var/log/metamcp-init-dockerd.log
  echo "ensure-docker: starting dockerd (log: $log)"
  # setsid: dockerd outlives this script and the CI step that ran it.
  setsid dockerd --iptables=false --bridge=none >>"$log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    echo "ensure-docker: dockerd did not answer within 60 s; last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
fi
echo "ensure-docker: $(docker version --format 'engine {{.Server.Version}}, client {{.Client.Version}}')"
