#!/usr/bin/env bash
# Install Debian's Chromium and its ChromeDriver for the support-desk page's browser test.
# Needs root (CI runs as root); does nothing when both are present.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
echo "installing chromium and chromium-driver from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq chromium chromium-driver >&2
