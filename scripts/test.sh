#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds the release preset and runs the whole test suite.
# Tests that need ../shared/data skip when it is absent (set ADED_SHARED_DATA to point elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh release
ctest --preset release -j "$(nproc)"
