#!/usr/bin/env bash
# Installs what bench/peers/run.sh needs besides rill's own packages
# (scripts/setup.sh): Redis 7 and PostgreSQL 15 (Debian 12's), and the
# hiredis and libpq headers that peer-load is built with. Idempotent; run as
# root. CI does not call it: without these, the build just skips peer-load.
#
#   bench/peers/setup.sh
set -euo pipefail
pkgs=(redis-server postgresql libhiredis-dev libpq-dev pkg-config)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi
# The packages' own services are not used (run.sh starts private servers on
# temp dirs and ports); they are left as the packages set them up.
echo "peers setup: ${pkgs[*]} installed"
