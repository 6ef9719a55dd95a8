#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) and runs each for a bounded
# time: ./scripts/fuzz.sh [seconds per target, default 15]. Exits non-zero on a finding.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-15}"
out="$root/build/fuzz"
mkdir -p "$out"
cxx="${FUZZ_CXX:-clang++-14}"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$root")
sources=(providers/*.cpp)  # pure translation code: no sockets, no actors

objects=()
for src in "${sources[@]}"; do
  obj="$out/$(basename "${src%.cpp}").o"
  stale=0
  for dep in "$src" providers/*.hpp providers/detail/*.hpp; do [[ $dep -nt $obj ]] && stale=1; done
  if [[ ! -f "$obj" || $stale == 1 ]]; then
    "$cxx" "${flags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" -c "$src" -o "$obj"
  fi
  objects+=("$obj")
done

status=0
for target in sse adapters chunk request; do
  bin="$out/${target}_fuzz"
  stale=0
  for dep in "fuzz/${target}_fuzz.cpp" "${objects[@]}"; do [[ $dep -nt $bin ]] && stale=1; done
  if [[ ! -x "$bin" || $stale == 1 ]]; then
    "$cxx" "${flags[@]}" "fuzz/${target}_fuzz.cpp" "${objects[@]}" -lboost_json -lsimdjson -o "$bin"
  fi
  corpus="$out/corpus-$target"
  mkdir -p "$corpus"
  cp -n fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
  echo "fuzz: $target for ${seconds}s"
  dict=()
  [[ -f fuzz/$target.dict ]] && dict=(-dict="fuzz/$target.dict")
  if ! "$bin" "${dict[@]}" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$out/${target}-" -print_final_stats=1 "$corpus" 2>"$out/$target.log"; then
    tail -40 "$out/$target.log"
    status=1
  else
    grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' "$out/$target.log" || true
  fi
done
exit "$status"
