#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds the release preset and runs the whole test suite.
# Tests that need ../shared/data skip when it is absent (set ADED_SHARED_DATA to point elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh release
# The openai npm package for the server's client test (tests/openai_client), pinned by its lock file.
npm ci --prefix tests/openai_client --no-audit --no-fund --silent
ctest --preset release -j "$(nproc)"
