#!/usr/bin/env bash
# Install Debian's Chromium, its ChromeDriver and a Chinese font: the support-desk page's
# browser test (the desk speaks Chinese too), and the charts of the complaint report and the
# MLflow confusion matrices, draw Chinese with it (without a CJK font they show boxes).
# Needs root (CI runs as root); does nothing when all are present.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
  && [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  exit 0
fi
echo "installing chromium, chromium-driver and fonts-wqy-microhei from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >&2
