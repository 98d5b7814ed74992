#!/usr/bin/env bash
# Makes a MetaMCP-like base image without a registry: a root filesystem of this machine's
# Node (with the libraries ldd lists), its npm, Debian's busybox-static as the shell, users
# root and nextjs (uid 1001, as upstream), and the leak simulator of test/fixtures/leak-sim
# as the app, then `docker import`s it.
# The app starts the way both MetaMCP images do: `./docker-entrypoint.sh` in /app (upstream,
# its CMD) and /usr/local/bin/docker-entrypoint.sh (delorenj/metamcp, its ENTRYPOINT). It runs
# `node /app/metamcp-like.js $METAMCP_LIKE_ARGS "$@"`, so a scenario is set by environment.
# Usage: make-base-image.sh TAG
set -euo pipefail
tag=${1:?usage: make-base-image.sh TAG}
repo=$(cd "$(dirname "$0")/../.." && pwd)
node=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
busybox=$(command -v busybox) || { echo "make-base-image: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then
  echo "make-base-image: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,etc,tmp,root,app,home/nextjs}
# Merged /usr, as Debian 12 lays it out, so the paths ldd prints resolve inside the image.
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"

cp "$node" "$root/usr/bin/node"
# The libraries of node and of koffi's native binding (the same set on glibc).
koffi_node=$(find "$repo/node_modules/@koromix" -path '*linux_x64/koffi.node' | head -n 1)
for lib in $(ldd "$node" ${koffi_node:+"$koffi_node"} | grep -o '/[^ ]*\.so[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

mkdir -p "$root/usr/lib/node_modules"
cp -a "$npm_dir" "$root/usr/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
# The machine's CA bundle, as a Debian image has it (ca-certificates), trusted by Node as it is
# here, so that npm in a build stage reaches the registry the way this machine's npm does.
ca_env=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  mkdir -p "$root/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  ca_env=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
fi

cp "$busybox" "$root/usr/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /usr/bin/busybox "$root/$applet"
done

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nextjs:x:1001:1001:nextjs:/home/nextjs:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nodejs:x:1001:nextjs
nogroup:x:65534:
GROUP

cp "$repo"/test/fixtures/leak-sim/*.js "$root/app/"
cat >"$root/app/docker-entrypoint.sh" <<'ENTRY'
#!/bin/sh
# MetaMCP-like app: the leak simulator as the backend. METAMCP_LIKE_ARGS holds its scenario
# flags, shell-quoted (e.g. --storm 10 --server-flags "--threads 4").
eval "exec node /app/metamcp-like.js $METAMCP_LIKE_ARGS \"\$@\""
ENTRY
chmod 755 "$root/app/docker-entrypoint.sh"
cp "$root/app/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
chown -R 1001:1001 "$root/app" "$root/home/nextjs"

tar -C "$root" --numeric-owner -cf "$work/rootfs.tar" .
docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
  "${ca_env[@]}" \
  --change 'WORKDIR /app' \
  --change 'USER nextjs' \
  --change 'CMD ["./docker-entrypoint.sh"]' \
  "$work/rootfs.tar" "$tag" >/dev/null
echo "$tag"
