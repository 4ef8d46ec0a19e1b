#!/usr/bin/env bash
# Builds the image and smoke-tests it for real, with docker or podman (whichever works):
# run it on a fresh volume, wait for /readyz, run the HEALTHCHECK, train a 1-epoch job followed
# over the WebSocket, check its model gives a real test image its true label, check the process
# is not root, stop it part-way through a long job (exit 0 within 10 s), then start a new
# container on the same volume: the model predicts the same, and the job is back with every
# epoch it had before the stop and trains on.
#
#   bash scripts/container-smoke.sh      (run from the repository; needs npm ci done)
set -euo pipefail
# It takes no arguments: --help prints the comment above, anything else is refused (exit 2).
if [ $# -gt 0 ]; then
  case "$1" in
    -h | --help) printf 'usage: bash %s\n\n' "$0"; sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "$0: unexpected argument $1 (it takes none); see bash $0 --help" >&2; exit 2 ;;
  esac
fi
cd "$(dirname "$0")/.."

ENGINE=$(bash scripts/container-setup.sh)
# Names of this run only: other checkouts on the same machine may run this test at the same time.
RUN=$$
IMAGE=localhost/softmax-serve:smoke-$RUN
NAME=softmax-serve-smoke-$RUN
VOLUME=softmax-serve-smoke-data-$RUN
log() { echo "container-smoke: $*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
field() { node -p "JSON.parse(process.argv[1]).$2" "$1"; }

cleanup() {
  "$ENGINE" rm -f "$NAME" >/dev/null 2>&1 || true
  "$ENGINE" volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  "$ENGINE" rmi "$IMAGE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
smoke_started=$(now)

base_image=$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)
build_args=()
if [ "$ENGINE" = podman ]; then
  build_args+=(--format docker) # keeps HEALTHCHECK, which the OCI format drops
  if ! podman image exists "$base_image" && podman image exists "localhost/$base_image"; then
    build_args+=(--build-arg "BASE_IMAGE=localhost/$base_image")
  fi
fi
started=$(now)
"$ENGINE" build -q "${build_args[@]}" -t "$IMAGE" . >/dev/null
log "built $IMAGE in $(elapsed "$started" "$(now)") s; size $("$ENGINE" image inspect "$IMAGE" --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }')"
in_image=$("$ENGINE" run --rm --entrypoint node "$IMAGE" --version 2> >(grep -v systemd >&2))
log "Node in the image: $in_image"

BASE=
start_container() {
  local started
  started=$(now)
  # A port the engine picks, so that concurrent runs do not collide.
  # (podman without systemd complains that it cannot time healthchecks; the check runs below.)
  "$ENGINE" run -d --name "$NAME" -p "127.0.0.1::3000" -v "$VOLUME:/data" "$IMAGE" 2> >(grep -v systemd >&2) >/dev/null
  BASE="http://$("$ENGINE" port "$NAME" 3000/tcp | head -1)"
  for _ in $(seq 1 300); do
    if curl -sf "$BASE/readyz" >/dev/null; then
      log "ready $(elapsed "$started" "$(now)") s after run, at $BASE"
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

started=$(now)
trained=$(npx tsx scripts/smoke-client.ts train "$BASE")
model=$(field "$trained" modelId)
probabilities=$(node -p 'JSON.stringify(JSON.parse(process.argv[1]).probabilities)' "$trained")
log "trained and predicted in $(elapsed "$started" "$(now)") s: model $model (test accuracy $(field "$trained" testAcc)) labels test image 0 $(field "$trained" label), its true label $(field "$trained" expected)"

# docker stop part-way through a long job: still a clean exit within 10 s, and no epoch lost.
interrupted=$(npx tsx scripts/smoke-client.ts interrupt-me "$BASE")
long_id=$(field "$interrupted" jobId)
epochs_before=$(field "$interrupted" epochsDone)
metrics_before=$(node -p 'JSON.stringify(JSON.parse(process.argv[1]).metrics)' "$interrupted")
log "job $long_id running with $epochs_before epochs done; stopping the container"
stop_container

start_container
checked=$(npx tsx scripts/smoke-client.ts check "$BASE" "$model" "$probabilities")
log "after a new container on the same volume: $checked"
resumed=$(npx tsx scripts/smoke-client.ts resumed "$BASE" "$long_id" "$metrics_before")
log "the job stopped by docker stop came back with $(field "$resumed" kept) epochs ($epochs_before before the stop) and trained on to epoch $(field "$resumed" resumedTo)"
stop_container
log "PASS in $(elapsed "$smoke_started" "$(now)") s (image build included)"
