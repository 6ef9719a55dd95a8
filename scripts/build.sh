#!/usr/bin/env bash
# Builds nyxgate: `release` (default) into build/release, `asan` (ASan + UBSan) into build/asan.
# Configures once; after that ninja alone decides what is stale (and re-runs CMake itself
# when a CMakeLists.txt changes), so a second run is a no-op.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

flavour="${1:-release}"
case "$flavour" in
  release) dir=build/release; options=(-DCMAKE_BUILD_TYPE=Release) ;;
  # -O1 -g1: sanitizer reports keep file:line, and the build is much quicker on 2 cores.
  asan) dir=build/asan; options=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DNYXGATE_SANITIZE=ON
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG") ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac

# Paths relative to the checkout let ccache share objects between clones of the repository.
export CCACHE_BASEDIR="$root"
if [[ ! -f "$dir/build.ninja" ]]; then
  cmake -G Ninja -S . -B "$dir" "${options[@]}"
fi
# NYXGATE_JOBS caps the parallel compiles (the ASan build is memory-hungry).
ninja -C "$dir" ${NYXGATE_JOBS:+-j "$NYXGATE_JOBS"}
