#!/usr/bin/env bash
# Makes sure the system Chromium that playwright.config.ts launches exists. The e2e tests use
# Debian's chromium rather than Playwright's download, so CI needs only the npm registry and apt.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "ensure-chromium: found $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"), nothing to do"
  exit 0
fi

# shellcheck source=apt-install.sh
source "$(dirname "$0")/apt-install.sh"
apt_install ensure-chromium chromium fonts-liberation
echo "ensure-chromium: installed $("$CHROMIUM" --version 2>/dev/null)"
