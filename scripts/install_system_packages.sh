#!/usr/bin/env bash
# System packages the test suite needs beyond the Python virtualenv: Debian's Chromium, which the
# end-to-end tests drive through Playwright (`playwright install` cannot download browsers here),
# and CJK fonts, without which the Traditional Chinese screenshots show empty boxes.
# Run as root. Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_system_packages.sh: run as root to install chromium" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium fonts-noto-cjk
/usr/bin/chromium --version
