#!/usr/bin/env bash
# Blog page benchmark: wrk against the public blog pages of one `nyxgate serve` beside its
# health check, in the same run:
#   healthz     GET /healthz                   the baseline: the cheapest answer the server has
#   index       GET /b/bench                   the rendered index, from memory
#   post        GET /b/bench/post-1            one rendered post
#   revalidate  GET /b/bench + If-None-Match   a browser's revalidation, answered 304
# at each concurrency; prints a markdown table and writes it to
# benchmarks/results/blog-<date>-<commit>.md. See benchmarks/README.md.
#
# Environment (all optional):
#   DURATION=10s WARMUP=2s RUNS=3 CONCURRENCY="1 64" WRK_THREADS=2 POSTS=40
#   BUILD_DIR=build/release NYXGATE_BIN=$BUILD_DIR/nyxgate NYXGATE_CPUS= WRK_CPUS=
#   RESULTS=benchmarks/results/blog-DATE-COMMIT.md
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build_dir=${BUILD_DIR:-$repo/build/release}
nyxgate_bin=${NYXGATE_BIN:-$build_dir/nyxgate}
duration=${DURATION:-10s}
warmup=${WARMUP:-2s}
runs=${RUNS:-3}
concurrency=${CONCURRENCY:-1 64}
wrk_threads=${WRK_THREADS:-2}
posts=${POSTS:-40}
targets=(healthz index post revalidate)
stamp=$(date -u +%Y-%m-%d)-$(git -C "$here" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
results=${RESULTS:-$here/results/blog-$stamp.md}

bench_name=blog_bench
# shellcheck source=benchmarks/bench_common.sh
source "$here/bench_common.sh"

command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
command -v curl >/dev/null || die "curl is not installed"
[[ -x $nyxgate_bin ]] || die "no nyxgate at $nyxgate_bin (ninja -C build/release nyxgate)"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/nyxgate-blog-bench.XXXXXX)
chmod 755 "$work"  # the embedded PostgreSQL may run as another user and must reach its folder
nyxgate_pid=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_nyxgate
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- nyxgate with a blog of $posts published posts -------------------------------------------
init_nyxgate
token=$(cat "$data/admin.token")
port=$(free_port)
base=http://127.0.0.1:$port
(pin "${NYXGATE_CPUS:-}" "$nyxgate_bin" serve "${common[@]}" --server.listen="127.0.0.1:$port" \
  --server.threads=2 --log.level=warn >"$work/nyxgate.log" 2>&1) &
nyxgate_pid=$!
wait_http "$base/readyz" 60 || die "nyxgate serve is not ready: $(tail -5 "$work/nyxgate.log")"

trpc() {  # trpc PROCEDURE JSON: a tRPC mutation; prints the answer's "id"
  local code
  code=$(curl -sS -o "$work/trpc.out" -w '%{http_code}' -X POST "$base/trpc/$1" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data "$2")
  [[ $code == 200 ]] || die "$1 answered $code: $(head -c 300 "$work/trpc.out")"
  sed -n 's/^{"result":{"data":{"id":"\([0-9a-f-]*\)".*/\1/p' "$work/trpc.out"
}

project=$(trpc projects.create '{"slug":"bench","name":"Bench blog","description":"What the benchmark writes","blogSlug":"bench"}')
[[ -n $project ]] || die "projects.create gave no id: $(head -c 300 "$work/trpc.out")"
# A post of a few paragraphs, a list and a code block: about 1.5 KB of Markdown.
body='## What happened\n\nWe measured the **blog page** against the health check, in the same run, on the same machine. The page is rendered once per publish and served from memory.\n\n- one list item with `code`\n- another with a [link](https://example.com/)\n- a third, longer one that wraps on a phone screen and keeps going for a while\n\n```\nwrk -t2 -c64 -d10s http://127.0.0.1/b/bench\n```\n\nA closing paragraph with *emphasis* and a little more text, so that the excerpt on the index has something to cut. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.'
for i in $(seq 1 "$posts"); do
  id=$(trpc projects.blogPosts.create "{\"projectId\":\"$project\",\"title\":\"Post number $i\",\"slug\":\"post-$i\",\"body\":\"$body\"}")
  trpc projects.blogPosts.publish "{\"id\":\"$id\"}" >/dev/null
done
declare -A url
url[healthz]=$base/healthz
url[index]=$base/b/bench
url[post]=$base/b/bench/post-1
url[revalidate]=$base/b/bench
etag=$(curl -fsS -D - -o /dev/null "$base/b/bench" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
[[ -n $etag ]] || die "GET /b/bench gave no ETag"
declare -A bytes
for t in healthz index post; do bytes[$t]=$(curl -fsS "${url[$t]}" | wc -c); done
bytes[revalidate]=0
log "nyxgate on $base: blog with $posts posts, index ${bytes[index]} bytes, ETag $etag"

db_queries() {  # nyxgate_db_queries_total from /metrics
  curl -fsS --max-time 5 "$base/metrics" | awk '$1 == "nyxgate_db_queries_total" { print $2 }'
}

run_wrk() {  # run_wrk CONC TARGET DURATION: prints wrk's JSON line
  local conc=$1 t=$2 dur=$3
  local threads=$((conc < wrk_threads ? conc : wrk_threads))
  local match=""
  [[ $t == revalidate ]] && match=$etag
  (BENCH_IF_NONE_MATCH=$match BENCH_LABEL="$conc/$t" pin "${WRK_CPUS:-}" \
    wrk -t"$threads" -c"$conc" -d"$dur" --timeout 10s -s "$here/wrk/get.lua" "${url[$t]}") |
    { grep '^{' || true; } | tail -1
}


declare -A rps spread_of p50 p99 p999 errs non2xx dbq cost_runs
for conc in $concurrency; do
  declare -A s_rps=() s_p50=() s_p99=() s_p999=() s_err=() s_non2xx=() s_dbq=()
  for run in $(seq 1 "$runs"); do
    # Interleaved: a noisy neighbour hits every target alike.
    for t in "${targets[@]}"; do
      run_wrk "$conc" "$t" "$warmup" >/dev/null
      before=$(db_queries)
      line=$(run_wrk "$conc" "$t" "$duration")
      after=$(db_queries)
      [[ -n $line ]] || die "wrk printed no result for $conc/$t"
      log "run $run: $line"
      keep "$line" "$t"
      e=$(($(json_num "$line" connect) + $(json_num "$line" read) + $(json_num "$line" write) + $(json_num "$line" timeout)))
      s_err[$t]=$((${s_err[$t]:-0} + e))
      n=$(json_num "$line" requests)
      # The /metrics reads themselves are no queries; wrk's requests are.
      s_dbq[$t]+="$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.4f", (n > 0) ? (a - b) / n : 0 }') "
    done
  done
  for t in "${targets[@]}"; do
    k="$conc,$t"
    rps[$k]=$(samples median "${s_rps[$t]}")
    spread_of[$k]=$(samples spread "${s_rps[$t]}")
    p50[$k]=$(samples median "${s_p50[$t]}")
    p99[$k]=$(samples median "${s_p99[$t]}")
    p999[$k]=$(samples median "${s_p999[$t]}")
    errs[$k]=${s_err[$t]}
    non2xx[$k]=${s_non2xx[$t]}
    dbq[$k]=$(samples median "${s_dbq[$t]}")
    # Cost per request against the health check, run by run (healthz req/s / target req/s).
    cost_runs[$k]=$(paste -d' ' <(tr ' ' '\n' <<<"${s_rps[healthz]}" | grep .) \
      <(tr ' ' '\n' <<<"${s_rps[$t]}" | grep .) |
      awk '{ printf "%s%.2f", (NR > 1) ? " " : "", ($2 > 0) ? $1 / $2 : 0 }')
  done
  unset s_rps s_p50 s_p99 s_p999 s_err s_non2xx s_dbq
done

report() {
  echo "# Blog page benchmark, $stamp"
  echo
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -sr); load average before: $load_before"
  echo "- wrk and nyxgate (2 I/O threads, embedded PostgreSQL) share these cores; other jobs may run too"
  echo "- wrk $(wrk --version 2>&1 | head -1 | awk '{print $2}') -t$wrk_threads (fewer at c=1), $duration per run after a $warmup warm-up, $runs runs per cell, targets interleaved (median; spread = (max-min)/median of req/s)"
  echo "- blog: $posts published posts of about 1.5 KB of Markdown; index ${bytes[index]} bytes, post ${bytes[post]} bytes, healthz ${bytes[healthz]} bytes"
  echo "- nyxgate binary: ${nyxgate_bin#"$repo"/}$(git -C "$repo" rev-parse --short HEAD 2>/dev/null | sed 's/^/ at /')"
  echo "- pinning: nyxgate=${NYXGATE_CPUS:-none} wrk=${WRK_CPUS:-none}"
  echo
  echo "| conns | target | body bytes | req/s | spread | p50 ms | p99 ms | p99.9 ms | errors | non-2xx | cost vs healthz | cost by run | p99 vs healthz | db queries/request |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
  for conc in $concurrency; do
    for t in "${targets[@]}"; do
      k="$conc,$t"
      h="$conc,healthz"
      cost=$(awk -v h="${rps[$h]}" -v r="${rps[$k]}" 'BEGIN { printf "%.2f", (r > 0) ? h / r : 0 }')
      p99x=$(awk -v h="${p99[$h]}" -v r="${p99[$k]}" 'BEGIN { printf "%.2f", (h > 0) ? r / h : 0 }')
      printf '| %s | %s | %s | %.0f | %.0f %% | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
        "$conc" "$t" "${bytes[$t]}" "${rps[$k]}" "${spread_of[$k]}" "$(ms "${p50[$k]}")" \
        "$(ms "${p99[$k]}")" "$(ms "${p999[$k]}")" "${errs[$k]}" "${non2xx[$k]}" "$cost" \
        "${cost_runs[$k]}" "$p99x" "${dbq[$k]}"
    done
  done
  echo
  echo "cost vs healthz = healthz req/s / target req/s in the same cell (the target's cost per request as a multiple of a health check's; the budget is 2). p99 vs healthz = target p99 / healthz p99."
}

mkdir -p "$(dirname "$results")"
report | tee "$results"
log "written to ${results#"$repo"/}"
