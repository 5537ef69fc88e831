#!/usr/bin/env bash
# Makes sure `redis-server` exists for the Redis store's tests: the Vitest global setup
# (scripts/test-redis.ts) starts its own on a free port. Debian's package, like the e2e tests'
# Chromium, so CI needs only the npm registry and apt.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  echo "ensure-redis: found $(redis-server --version | cut -d' ' -f1-3), nothing to do"
  exit 0
fi

# shellcheck source=apt-install.sh
source "$(dirname "$0")/apt-install.sh"
apt_install ensure-redis redis-server
echo "ensure-redis: installed $(redis-server --version | cut -d' ' -f1-3)"
