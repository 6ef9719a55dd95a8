#!/usr/bin/env bash
# Installs what is missing, builds the release binary and runs the server in the foreground.
# Arguments go to `nyxgate serve`, e.g. ./scripts/run.sh --server.listen=0.0.0.0:8080
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

./scripts/install-deps.sh
./scripts/build.sh release
exec ./build/release/nyxgate serve "$@"
