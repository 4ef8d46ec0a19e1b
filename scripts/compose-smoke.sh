#!/usr/bin/env bash
# The scaled-out service as compose.yaml deploys it, verified: Redis with its append-only volume, two
# API replicas and two workers of the one image, started by `docker compose up` (or podman-compose).
# A job created on API 1 is followed on API 2 to success; its model answers alike on both; Redis is
# then killed (SIGKILL) and started again from its append-only file: the job and its model are still
# there and a new job trains. Needs the container engine that container-setup.sh prepares.
#
#   bash scripts/compose-smoke.sh
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
PROJECT=softmax-serve-smoke-$$
# compose.yaml's published ports.
A=http://127.0.0.1:3001
B=http://127.0.0.1:3002
WORKERS=(http://127.0.0.1:3011 http://127.0.0.1:3012)
API_TOKEN=$(node -e "console.log(require('node:crypto').randomBytes(16).toString('hex'))")
export API_TOKEN
log() { echo "compose-smoke: $*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
field() { node -p "JSON.parse(process.argv[1]).$2" "$1"; }
quiet() { "$@" 2> >(grep -v systemd >&2) >/dev/null; }

if [ "$ENGINE" = docker ]; then compose=(docker compose); else compose=(podman-compose); fi
if ! command -v "${compose[0]}" >/dev/null && [ "$ENGINE" = podman ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  log "installing podman-compose"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman-compose >/dev/null
fi
command -v "${compose[0]}" >/dev/null || { log "FAIL: ${compose[0]} is not installed"; exit 1; }
compose+=(-p "$PROJECT" -f compose.yaml)
container() { "$ENGINE" ps -a --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -1; }

cleanup() {
  "${compose[@]}" down -v >/dev/null 2>&1 || true
  "$ENGINE" volume rm -f "${PROJECT}_redis-data" >/dev/null 2>&1 || true
}
trap cleanup EXIT
smoke_started=$(now)

# The images compose.yaml names: the service's own (built here, as `docker run`'s), and Redis,
# pulled or, where no registry answers, a local stand-in (scripts/redis-standin.Containerfile).
base_image=$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)
build_args=()
if [ "$ENGINE" = podman ]; then
  build_args+=(--format docker)
  if ! podman image exists "$base_image" && podman image exists "localhost/$base_image"; then base_image=localhost/$base_image; fi
fi
started=$(now)
"$ENGINE" build -q "${build_args[@]}" --build-arg "BASE_IMAGE=$base_image" -t softmax-serve . >/dev/null
REDIS_IMAGE=$(sed -n 's/.*image: \${REDIS_IMAGE:-\(.*\)}.*/\1/p' compose.yaml)
if ! "$ENGINE" image exists "$REDIS_IMAGE" 2>/dev/null && ! "$ENGINE" pull -q "$REDIS_IMAGE" >/dev/null 2>&1; then
  REDIS_IMAGE=localhost/redis-standin:ci
  "$ENGINE" build -q "${build_args[@]}" --build-arg "BASE_IMAGE=$base_image" -f scripts/redis-standin.Containerfile -t "$REDIS_IMAGE" . >/dev/null
fi
export REDIS_IMAGE
log "images built in $(elapsed "$started" "$(now)") s; Redis from $REDIS_IMAGE"

wait_ready() {
  local base=$1 started
  started=$(now)
  for _ in $(seq 1 600); do
    curl -sf "$base/readyz" >/dev/null && return
    sleep 0.1
  done
  log "FAIL: $base not ready within 60 s"
  "$ENGINE" ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}} {{.Status}}'
  for service in redis api-1 api-2 worker-1 worker-2; do echo "--- $service"; "$ENGINE" logs "$(container "$service")" 2>&1 | tail -5; done
  exit 1
}

started=$(now)
# (podman-compose looks the volume up before it creates it, and says so on stderr.)
"${compose[@]}" up -d 2> >(grep -v -e systemd -e 'no such volume' -e syslog >&2) >/dev/null
for base in "$A" "$B" "${WORKERS[@]}"; do wait_ready "$base"; done
log "redis, api-1, api-2, worker-1 and worker-2 ready $(elapsed "$started" "$(now)") s after compose up"
code=$(curl -s -o /dev/null -w '%{http_code}' "$A/jobs")
[ "$code" = 401 ] || { log "FAIL: GET /jobs without the token answered $code, not 401"; exit 1; }

started=$(now)
trained=$(npx tsx scripts/smoke-client.ts cluster "$A" "$B")
job=$(field "$trained" jobId)
model=$(field "$trained" modelId)
probabilities=$(node -p 'JSON.stringify(JSON.parse(process.argv[1]).probabilities)' "$trained")
log "job $job created on api-1, followed on api-2, trained by $(field "$trained" worker) in $(elapsed "$started" "$(now)") s: test accuracy $(field "$trained" testAcc); model $model labels test image 0 $(field "$trained" label) on both replicas"

# Redis killed outright: what it acknowledged more than a second ago is in its append-only file.
sleep 1.5
redis=$(container redis)
quiet "$ENGINE" kill "$redis"
quiet "$ENGINE" start "$redis"
started=$(now)
for base in "$A" "$B" "${WORKERS[@]}"; do wait_ready "$base"; done
log "Redis SIGKILLed and started again; every process answers /readyz 200 within $(elapsed "$started" "$(now)") s"
checked=$(npx tsx scripts/smoke-client.ts cluster-check "$A" "$B" "$job" "$model" "$probabilities")
log "after the restart: job and model kept, a new job trained; $(field "$checked" jobs) jobs and $(field "$checked" models) models listed"

started=$(now)
quiet "${compose[@]}" down -v
log "compose down in $(elapsed "$started" "$(now)") s"
log "PASS in $(elapsed "$smoke_started" "$(now)") s (image builds included)"
