#!/usr/bin/env bash
# Prepare a MetaMCP checkout so that run.mjs can run its backend: pnpm, Postgres,
# the backend build, a database with a public endpoint, the stdio servers of
# BENCH_SERVERS (npx) in its namespace, and a warm npx cache.
# Usage: setup.sh <metamcp-checkout> [profile.env]: the profile's variables
# (a database and servers of its own, e.g. four-servers.env) win over metamcp.env.
# Idempotent: every step checks what is already there. Needs root (apt, Postgres).
set -euo pipefail

usage() { echo "usage: $0 <metamcp-checkout-dir> [profile.env]" >&2; exit 2; }
[ $# -eq 1 ] || [ $# -eq 2 ] || usage
CHECKOUT=$(cd "$1" && pwd) || usage
[ -f "$CHECKOUT/pnpm-workspace.yaml" ] && [ -d "$CHECKOUT/apps/backend" ] || { echo "$CHECKOUT is not a MetaMCP checkout" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
BACKEND="$CHECKOUT/apps/backend"

# Load the profile, then metamcp.env; a variable already set (in the environment, or by
# the profile) wins.
load_env() {
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}; value=${line#*=}
    value=${value#\'}; value=${value%\'}
    [ -n "${!key+x}" ] || export "$key=$value"
  done < "$1"
}
if [ $# -eq 2 ]; then
  case "$2" in /*) load_env "$2" ;; *) if [ -f "$2" ]; then load_env "$2"; else load_env "$HERE/$2"; fi ;; esac
fi
load_env "$HERE/metamcp.env"

step() { echo "== $*"; }

step "pnpm 9.0.0 (MetaMCP's packageManager)"
if [ "$(pnpm --version 2>/dev/null || true)" != "9.0.0" ]; then
  npm i -g pnpm@9.0.0
fi

step "Postgres"
if ! command -v pg_ctlcluster >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
fi
read -r PG_VERSION PG_CLUSTER PG_STATUS < <(pg_lsclusters -h | awk '{print $1, $2, $4; exit}')
if [ "$PG_STATUS" != "online" ]; then pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start; fi
as_postgres() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(as_postgres -c "select 1 from pg_roles where rolname='$POSTGRES_USER'")" != "1" ]; then
  as_postgres -c "create role \"$POSTGRES_USER\" login password '$POSTGRES_PASSWORD'"
fi
if [ "$(as_postgres -c "select 1 from pg_database where datname='$POSTGRES_DB'")" != "1" ]; then
  as_postgres -c "create database \"$POSTGRES_DB\" owner \"$POSTGRES_USER\""
fi

step "dependencies and backend build"
# NODE_ENV=production (metamcp.env) would skip the devDependencies the build needs.
(cd "$CHECKOUT" && env -u NODE_ENV CI=true pnpm install --frozen-lockfile)
(cd "$CHECKOUT" && env -u NODE_ENV pnpm exec turbo run build --filter=backend... --ui=stream)

step "migrations"
(cd "$BACKEND" && pnpm run db:migrate)

db() { psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qtA "$@"; }

step "bootstrap (user, namespace, endpoint)"
if [ "$(db -c "select count(*) from endpoints where name='$BENCH_ENDPOINT'")" = "0" ]; then
  # The backend bootstraps at start-up, before it listens. It runs as PID 1 of its
  # own PID namespace so that everything it starts dies with it.
  log="$(mktemp)"
  (cd "$BACKEND" && exec unshare --pid --fork --kill-child --mount-proc node dist/index.js) >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    if curl -fsS http://localhost:12009/health >/dev/null 2>&1; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 1
  done
  # unshare --fork blocks TERM and INT itself, and a PID 1 without handlers
  # ignores TERM: KILL its child, the namespace's PID 1; when that dies the
  # kernel kills the rest of the namespace.
  child=$(cat /proc/"$pid"/task/*/children 2>/dev/null | awk '{print $1; exit}')
  if [ -n "$child" ]; then kill -KILL "$child" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
  if [ "$(db -c "select count(*) from endpoints where name='$BENCH_ENDPOINT'")" = "0" ]; then
    echo "bootstrap did not create endpoint $BENCH_ENDPOINT; backend output:" >&2
    tail -n 50 "$log" >&2
    exit 1
  fi
  rm -f "$log"
fi

# BENCH_SERVERS: `name=package [args]` entries separated by `;`, each one public stdio
# server run as `npx -y package args`, mapped ACTIVE into the bench namespace.
IFS=';' read -r -a servers <<< "$BENCH_SERVERS"
for entry in "${servers[@]}"; do
  name=${entry%%=*}; spec=${entry#*=}
  read -r -a words <<< "$spec"
  package=${words[0]}
  args="{-y"; for word in "${words[@]}"; do args="$args,$word"; done; args="$args}"
  step "stdio server $name (npx $args)"
  db <<SQL
insert into mcp_servers (name, description, type, command, args, user_id)
  select '$name', 'metamcp-init bench', 'STDIO', 'npx', '$args', null
  where not exists (select 1 from mcp_servers where name = '$name' and user_id is null);
update mcp_servers set error_status = 'NONE', args = '$args' where name = '$name' and user_id is null;
insert into namespace_server_mappings (namespace_uuid, mcp_server_uuid, status)
  select n.uuid, s.uuid, 'ACTIVE'
  from namespaces n, mcp_servers s, endpoints e
  where e.name = '$BENCH_ENDPOINT' and n.uuid = e.namespace_uuid
    and s.name = '$name' and s.user_id is null
  on conflict (namespace_uuid, mcp_server_uuid) do update set status = 'ACTIVE';
SQL
  step "npx cache for $package"
  # A server exits when its stdin closes.
  timeout 300 npx -y "${words[@]}" </dev/null >/dev/null
done

step "ready: backend $BACKEND/dist/index.js, endpoint http://localhost:12009/metamcp/$BENCH_ENDPOINT/mcp"
