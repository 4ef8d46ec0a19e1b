#!/usr/bin/env bash
# Prints one of the README's two set-up lines, exactly as written (without its comment), from the
# ```sh block under "## Two commands": `start` (the first line) or `test` (the second).
# .ci/run runs them through this, verbatim, so that CI and the README cannot drift apart.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  start) n=1 ;;
  test) n=2 ;;
  -h|--help) echo "usage: bash scripts/readme-commands.sh start|test"; exit 0 ;;
  *) echo "readme-commands: expected 'start' or 'test', got '${1:-}'; see --help" >&2; exit 2 ;;
esac
block=$(awk '/^## Two commands/ { inside = 1; next } inside && /^## / { exit } inside && /^```sh$/ { code = 1; next } code && /^```$/ { exit } code { print }' README.md)
lines=$(printf '%s\n' "$block" | grep -c . || true)
if [ "$lines" -ne 2 ]; then
  echo "readme-commands: README.md's \"## Two commands\" block has $lines lines, not 2" >&2
  exit 1
fi
printf '%s\n' "$block" | sed -n "${n}p" | sed 's/[[:space:]]*#.*$//'
