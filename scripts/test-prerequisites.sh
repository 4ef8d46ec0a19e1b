#!/usr/bin/env bash
# `npm test`'s first step: what the suite needs from the machine beyond node_modules. It runs
# real servers and third-party checkers (a real redis-server, Debian's Chromium, NumPy and
# ONNX's checker), trains on the real Fashion-MNIST, and fills a real tmpfs for its disk-full
# tests, which needs root. What is missing is installed from Debian's archive when it can be,
# and named in one sentence when it cannot.
set -euo pipefail

case "${1:-}" in
  -h|--help)
    echo "usage: bash scripts/test-prerequisites.sh"
    echo
    echo "Installs (apt-get, as root) the Debian packages npm test needs and the machine lacks:"
    echo "redis-server, chromium, python3-numpy, python3-onnx, dataset-fashion-mnist, curl, jq."
    exit 0 ;;
  "") ;;
  *) echo "test-prerequisites: unknown argument '$1'; see --help" >&2; exit 2 ;;
esac

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
command -v curl >/dev/null || missing+=(curl)
# docs/tenants.md's class example, run as written, uses jq.
command -v jq >/dev/null || missing+=(jq)
# The format tests run NumPy and ONNX's checker in Debian's own Python (test/helpers/python.ts).
/usr/bin/python3 -c 'import numpy' 2>/dev/null || missing+=(python3-numpy)
/usr/bin/python3 -c 'import onnx' 2>/dev/null || missing+=(python3-onnx)
# Where the service looks for the dataset (src/data/fashion-mnist.ts), the tests look too.
has_dataset() { [ -n "$1" ] && { [ -e "$1/train-images-idx3-ubyte" ] || [ -e "$1/train-images-idx3-ubyte.gz" ]; }; }
has_dataset "${FASHION_MNIST_DIR:-}" || has_dataset data/fashion-mnist || has_dataset /usr/share/datasets/fashion-mnist \
  || missing+=(dataset-fashion-mnist)

root=yes
[ "$(id -u)" -eq 0 ] || root=no

if [ ${#missing[@]} -eq 0 ] && [ $root = yes ]; then exit 0; fi

if [ $root = no ]; then
  echo "npm test needs root (its disk-full tests mount a tmpfs)${missing[*]:+ and these Debian packages: ${missing[*]}}; run it as root, e.g. in a container." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "npm test needs these packages, which this machine lacks and cannot install without apt-get: ${missing[*]}." >&2
  exit 1
fi
echo "npm test: installing the Debian packages the suite needs: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
