#!/usr/bin/env bash
# Installs wrk, the HTTP load generator scripts/load-status.sh uses, from
# Debian's packages. Run as root (or with sudo) on a Debian-based machine.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
