#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds rill, and runs the demo of
# the default domain against a rill it starts in a temporary data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
exec build/bin/rill demo "$@"
