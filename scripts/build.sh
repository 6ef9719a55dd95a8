#!/usr/bin/env bash
# Builds nyxgate: `release` (default) into build/release, `asan` (ASan + UBSan) into build/asan,
# `pgo` (the release build, profile-guided) into build/pgo, `deb` (the release build as a
# Debian package, build/release/nyxgate_<version>_<arch>.deb).
# Configures once; after that ninja alone decides what is stale (and re-runs CMake itself
# when a CMakeLists.txt changes), so a second run is a no-op. `pgo` always builds twice.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

flavour="${1:-release}"
case "$flavour" in
  release | deb) dir=build/release; options=(-DCMAKE_BUILD_TYPE=Release) ;;
  # -O1 -g1: sanitizer reports keep file:line, and the build is much quicker on 2 cores.
  asan) dir=build/asan; options=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DNYXGATE_SANITIZE=ON
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG") ;;
  pgo) dir=build/pgo; options=(-DCMAKE_BUILD_TYPE=Release) ;;
  *) echo "usage: $0 [release|asan|pgo|deb]" >&2; exit 2 ;;
esac

# Paths relative to the checkout let ccache share objects between clones of the repository.
export CCACHE_BASEDIR="$root"
jobs=(${NYXGATE_JOBS:+-j "$NYXGATE_JOBS"})  # NYXGATE_JOBS caps the parallel compiles

if [[ $flavour != pgo ]]; then
  if [[ ! -f "$dir/build.ninja" ]]; then
    cmake -G Ninja -S . -B "$dir" "${options[@]}"
  fi
  ninja -C "$dir" "${jobs[@]}"
  if [[ $flavour == deb ]]; then
    (cd "$dir" && cpack -G DEB >/dev/null)
    ls "$dir"/nyxgate_*.deb
  fi
  exit 0
fi

# Profile-guided: an instrumented server serves a short training load (benchmarks/
# gateway_bench.sh against the mock upstream: JSON and stream calls at 1 and 64 connections,
# and the paced table), writes its profile when it stops, and the build proper reads it.
# Two compiles of the server and a minute of training (about 4 minutes on 2 cores); needs
# wrk, openssl and curl (scripts/install-deps.sh installs them). benchmarks/README.md has the
# gain.
cmake -G Ninja -S . -B "$dir" "${options[@]}" -DNYXGATE_PGO=generate >/dev/null
ninja -C "$dir" "${jobs[@]}" nyxgate nyxgate_mock_upstream
find "$dir" -name '*.gcda' -delete  # counts add up across runs otherwise
echo "build.sh: training the instrumented server (about a minute)"
training=$(mktemp -d /tmp/nyxgate-pgo.XXXXXX)
# Until the profile-guided compile succeeds, $dir/nyxgate is the instrumented server (about
# twice the CPU per call): on any failure it is removed rather than left to be run by mistake.
built=""
trap 'rm -rf "$training"; [[ -n $built ]] || rm -f "$dir/nyxgate"' EXIT
if ! TARGETS=nyxgate BUILD_DIR="$root/$dir" RUNS=1 DURATION=5s WARMUP=1s CONCURRENCY="1 64" \
  RESULTS="$training/results.md" benchmarks/gateway_bench.sh >"$training/log" 2>&1; then
  tail -20 "$training/log" >&2
  echo "build.sh: the training run failed" >&2
  exit 1
fi
[[ -n $(find "$dir" -name '*.gcda' -print -quit) ]] || {
  echo "build.sh: the training run left no profile" >&2
  exit 1
}
cmake -S . -B "$dir" -DNYXGATE_PGO=use >/dev/null
if ! ninja -C "$dir" "${jobs[@]}" nyxgate; then
  echo "build.sh: the profile-guided compile failed (a source edited since the training run" \
    "fails -Werror=coverage-mismatch: run it again)" >&2
  exit 1
fi
built=1
echo "build.sh: $dir/nyxgate (profile-guided)"
