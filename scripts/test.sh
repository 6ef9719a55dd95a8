#!/usr/bin/env bash
# Installs what is missing, builds the ASan + UBSan flavour, then runs every test
# (unit, integration, e2e) against the ASan + UBSan build. Extra arguments go to ctest,
# e.g. ./scripts/test.sh -L unit
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

./scripts/install-deps.sh
# The tests run on the sanitizer build only; ./scripts/run.sh builds the release binary.
./scripts/build.sh asan

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Known leaks in third-party libraries, if any, are listed here (one `leak:pattern` a line).
if [[ -f "$root/scripts/lsan.supp" ]]; then
  export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp"
fi

ctest --test-dir build/asan --output-on-failure "$@"
