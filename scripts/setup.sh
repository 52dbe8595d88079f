#!/usr/bin/env bash
# Installs every Debian 12 package rill needs to build, test and run. Idempotent.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libzmq3-dev cppzmq-dev libboost-dev libconcurrentqueue-dev libmsgpack-cxx-dev
  libgtest-dev libgmock-dev libbenchmark-dev libxxhash-dev libabsl-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  python3 python3-zmq python3-msgpack procps util-linux
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
