#!/usr/bin/env bash
# Makes the tools the tests call present, so that `npm test` works on a fresh machine:
# promtool, Prometheus's own checker of the metrics text (Debian's `prometheus` package).
# Installs it with apt when missing and root; METAMCP_INIT_SKIP_PROMTOOL=1 runs the tests
# without it (its checks are then skipped, and each skip is printed).
set -euo pipefail

if promtool --version >/dev/null 2>&1; then exit 0; fi
if [ "${METAMCP_INIT_SKIP_PROMTOOL:-}" = 1 ]; then
  echo "ensure-test-tools: promtool missing; its checks will be skipped (METAMCP_INIT_SKIP_PROMTOOL=1)"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ensure-test-tools: promtool is missing: install Prometheus's promtool (Debian: apt-get install prometheus)," \
    "or set METAMCP_INIT_SKIP_PROMTOOL=1 to run the tests without its checks" >&2
  exit 1
fi
echo "ensure-test-tools: installing prometheus (for promtool)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
promtool --version >/dev/null
