#!/usr/bin/env bash
# Makes sure `redis-server` exists for the Redis store's tests: the Vitest global setup
# (scripts/test-redis.ts) starts its own on a free port. Debian's package, like the e2e tests'
# Chromium, so CI needs only the npm registry and apt.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  echo "ensure-redis: found $(redis-server --version | cut -d' ' -f1-3), nothing to do"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "ensure-redis: redis-server is missing and this user cannot install packages;" >&2
  echo "ensure-redis: run as root: apt-get update && apt-get install -y redis-server" >&2
  exit 1
fi

echo "ensure-redis: redis-server is missing; installing the Debian redis-server package"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends redis-server
echo "ensure-redis: installed $(redis-server --version | cut -d' ' -f1-3)"
