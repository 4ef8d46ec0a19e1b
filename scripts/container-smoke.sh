#!/usr/bin/env bash
# Builds the image and smoke-tests it for real, with docker or podman (whichever works):
# run it on a fresh volume, wait for /readyz, train a 1-epoch job followed over the
# WebSocket, predict one image, check the process is not root, stop it (exit 0 within 10 s),
# then start a new container on the same volume and check the model survived.
#
#   bash scripts/container-smoke.sh      (run from the repository; needs npm ci done)
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE=$(bash scripts/container-setup.sh)
IMAGE=softmax-serve:smoke
NAME=softmax-serve-smoke
VOLUME=softmax-serve-smoke-data
PORT=${SMOKE_PORT:-3390}
log() { echo "container-smoke: $*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
  "$ENGINE" rm -f "$NAME" >/dev/null 2>&1 || true
  "$ENGINE" volume rm -f "$VOLUME" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

build_args=()
if [ "$ENGINE" = podman ]; then
  build_args+=(--format docker) # keeps HEALTHCHECK, which the OCI format drops
  if ! podman image exists node:22-bookworm-slim && podman image exists localhost/node:22-bookworm-slim; then
    build_args+=(--build-arg BASE_IMAGE=localhost/node:22-bookworm-slim)
  fi
fi
started=$(now)
"$ENGINE" build -q "${build_args[@]}" -t "$IMAGE" . >/dev/null
log "built $IMAGE in $(elapsed "$started" "$(now)") s; size $("$ENGINE" image inspect "$IMAGE" --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }')"

start_container() {
  local started
  started=$(now)
  # (podman without systemd complains that it cannot time healthchecks; the check runs below.)
  "$ENGINE" run -d --name "$NAME" -p "127.0.0.1:$PORT:3000" -v "$VOLUME:/data" "$IMAGE" 2> >(grep -v systemd >&2) >/dev/null
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then
      log "ready $(elapsed "$started" "$(now)") s after run"
      return
    fi
    sleep 0.1
  done
  "$ENGINE" logs "$NAME" | tail -20
  log "FAIL: not ready within 30 s"
  exit 1
}

stop_container() {
  local started seconds code
  started=$(now)
  "$ENGINE" stop -t 10 "$NAME" 2> >(grep -v systemd >&2) >/dev/null
  seconds=$(elapsed "$started" "$(now)")
  code=$("$ENGINE" inspect "$NAME" --format '{{.State.ExitCode}}')
  log "stopped in $seconds s with exit status $code"
  if [ "$code" != 0 ] || awk -v s="$seconds" 'BEGIN { exit !(s >= 10) }'; then
    "$ENGINE" logs "$NAME" | tail -20
    log "FAIL: the container must exit with 0 within 10 s of docker stop"
    exit 1
  fi
  "$ENGINE" rm "$NAME" 2> >(grep -v systemd >&2) >/dev/null
}

check_health() {
  if [ "$ENGINE" = podman ]; then
    podman healthcheck run "$NAME" 2> >(grep -v systemd >&2) || { log "FAIL: the HEALTHCHECK fails"; exit 1; }
  else
    for _ in $(seq 1 60); do
      [ "$(docker inspect "$NAME" --format '{{.State.Health.Status}}')" = healthy ] && break
      sleep 1
    done
    [ "$(docker inspect "$NAME" --format '{{.State.Health.Status}}')" = healthy ] || { log "FAIL: not healthy"; exit 1; }
  fi
  log "HEALTHCHECK passes"
}

start_container
uid=$("$ENGINE" exec "$NAME" awk '/^Uid:/ { print $2 }' /proc/1/status)
if [ "$uid" = 0 ]; then log "FAIL: the service runs as root"; exit 1; fi
log "the service runs as uid $uid"
health=$("$ENGINE" inspect "$NAME" --format '{{json .Config.Healthcheck.Test}}')
case "$health" in *healthz*) ;; *) log "FAIL: no HEALTHCHECK on /healthz ($health)"; exit 1 ;; esac
check_health

trained=$(npx tsx scripts/smoke-client.ts train "http://127.0.0.1:$PORT")
log "trained and predicted: $trained"
model=$(node -e 'console.log(JSON.parse(process.argv[1]).modelId)' "$trained")
# docker stop in the middle of a long job: still a clean exit within 10 s; the job resumes later.
long=$(curl -sf -X POST "http://127.0.0.1:$PORT/jobs" -H 'content-type: application/json' -d '{"epochs": 200}')
long_id=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$long")
sleep 2
stop_container

start_container
checked=$(npx tsx scripts/smoke-client.ts check "http://127.0.0.1:$PORT" "$model")
log "after a new container on the same volume: $checked"
resumed=$(curl -sf "http://127.0.0.1:$PORT/jobs/$long_id")
status=$(node -e 'const j = JSON.parse(process.argv[1]); console.log(j.status + " with " + j.epochsDone + " epochs kept")' "$resumed")
case "$status" in queued*|running*) log "the job stopped by docker stop is back: $status" ;; *) log "FAIL: job $long_id is $status"; exit 1 ;; esac
curl -sf -X POST "http://127.0.0.1:$PORT/jobs/$long_id/cancel" >/dev/null
stop_container
log "PASS"
