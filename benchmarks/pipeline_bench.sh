#!/usr/bin/env bash
# Pipeline engine benchmark: a blog run of $ITEMS items against the mock providers answering
# each call after $CALL_MS ms, at each concurrency (workflows.node_concurrency, run_concurrency
# and tenant_concurrency all set to it, one node). Per concurrency: items per second (the
# run's items / the time from its creation to its end), nyxgate's CPU per item (user + system
# time of the nyxgate process from /proc, in µs) and database transactions per item
# (pg_stat_database.xact_commit of the nyxgate database, which counts every statement nyxgate
# runs outside a transaction and every batch it runs as one). Prints a markdown table and
# writes it to benchmarks/results/pipeline-<date>-<commit>.md. See benchmarks/README.md.
#
# Environment (all optional):
#   ITEMS=1000 CALL_MS=20 CONCURRENCY="1 16 64"
#   BUILD_DIR=build/release NYXGATE_BIN=$BUILD_DIR/nyxgate NYXGATE_CPUS=
#   RESULTS=benchmarks/results/pipeline-DATE-COMMIT.md
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build_dir=${BUILD_DIR:-$repo/build/release}
nyxgate_bin=${NYXGATE_BIN:-$build_dir/nyxgate}
items=${ITEMS:-1000}
call_ms=${CALL_MS:-20}
concurrency=${CONCURRENCY:-1 16 64}
stamp=$(date -u +%Y-%m-%d)-$(git -C "$here" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
results=${RESULTS:-$here/results/pipeline-$stamp.md}

bench_name=pipeline_bench
# shellcheck source=benchmarks/bench_common.sh
source "$here/bench_common.sh"

command -v node >/dev/null || die "node is not installed"
command -v psql >/dev/null || die "psql is not installed"
[[ -x $nyxgate_bin ]] || die "no nyxgate at $nyxgate_bin (ninja -C build/release nyxgate)"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/nyxgate-pipeline-bench.XXXXXX)
chmod 755 "$work"  # the embedded PostgreSQL may run as another user and must reach its folder
nyxgate_pid=""
mock_pid=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_nyxgate
  [[ -n $mock_pid ]] && kill -TERM "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the mock providers: every call answered after $call_ms ms ("slow" keys) -------------------
node "$repo/tests/e2e/lib/run_mock.mjs" --slow-ms="$call_ms" >"$work/mock.json" 2>"$work/mock.log" &
mock_pid=$!
for _ in $(seq 1 100); do
  [[ -s $work/mock.json ]] && break
  sleep 0.1
done
mock_url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$work/mock.json")
ca_file=$(sed -n 's/.*"caFile":"\([^"]*\)".*/\1/p' "$work/mock.json")
[[ -n $mock_url ]] || die "the mock did not start: $(tail -5 "$work/mock.log")"
providers=()
for p in openai anthropic google kimi github; do providers+=(--providers.$p.base_url="$mock_url"); done

init_nyxgate
token=$(cat "$data/admin.token")

start_node() {  # start_node CONCURRENCY
  local c=$1
  port=$(free_port)
  base=http://127.0.0.1:$port
  (pin "${NYXGATE_CPUS:-}" "$nyxgate_bin" serve "${common[@]}" --server.listen="127.0.0.1:$port" \
    --tls.ca_file="$ca_file" "${providers[@]}" --log.level=warn \
    --workflows.node_concurrency="$c" --workflows.run_concurrency="$c" \
    --workflows.tenant_concurrency="$c" --workflows.poll_ms=1000 \
    >"$work/nyxgate-$c.log" 2>&1) &
  nyxgate_pid=$!
  wait_http "$base/readyz" 60 || die "nyxgate serve is not ready: $(tail -5 "$work/nyxgate-$c.log")"
  local socket
  socket=$(sed -n 's/.*"msg":"embedded postgres started".*"socket_dir":"\([^"]*\)".*/\1/p' \
    "$work/nyxgate-$c.log" | tail -1)
  [[ -n $socket ]] || socket=$data/postgres/run
  conninfo="host=$socket port=5432 user=nyxgate dbname=nyxgate"
}

trpc() {  # trpc PROCEDURE JSON: a tRPC mutation; prints the answer's "id"
  local code
  code=$(curl -sS -o "$work/trpc.out" -w '%{http_code}' -X POST "$base/trpc/$1" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data "$2")
  [[ $code == 200 ]] || die "$1 answered $code: $(head -c 300 "$work/trpc.out")"
  sed -n 's/^{"result":{"data":{"id":"\([0-9a-f-]*\)".*/\1/p' "$work/trpc.out"
}
sql() { psql "$conninfo" -Atqc "$1"; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$nyxgate_pid/stat"; }
commits() { sql "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }

declare -A rate cpu_us xacts secs
for c in $concurrency; do
  start_node "$c"
  if [[ -z ${project:-} ]]; then
    trpc llmDefaults.update '{"primary":"openai","fallback":null}' >/dev/null
    trpc apiKeys.create '{"provider":"openai","name":"bench","key":"sk-slow-pipeline-bench"}' >/dev/null
    project=$(trpc projects.create '{"slug":"pipeline-bench","name":"Pipeline bench"}')
    [[ -n $project ]] || die "projects.create gave no id: $(head -c 300 "$work/trpc.out")"
  fi
  # The run's notes and items, written as a run procedure would.
  run=$(sql "WITH t AS (SELECT tenant_id, id FROM projects WHERE id = '$project'),
    n AS (INSERT INTO notes (tenant_id, project_id, title, body)
          SELECT t.tenant_id, t.id, 'Note ' || g, 'What happened on day ' || g || ': the engine wrote it down.'
          FROM t, generate_series(1, $items) g RETURNING tenant_id, id, title, body),
    r AS (INSERT INTO pipeline_runs (tenant_id, project_id, kind, input)
          SELECT t.tenant_id, t.id, 'blog', jsonb_build_object('template',
            'Write a blog post for {{project.name}} from these notes.' || chr(10) || '{{notes}}',
            'ethics', '', 'projectName', 'Pipeline bench', 'language', '') FROM t RETURNING tenant_id, id),
    i AS (INSERT INTO pipeline_items (tenant_id, run_id, position, input)
          SELECT r.tenant_id, r.id, row_number() OVER (ORDER BY n.title),
                 jsonb_build_object('notes', jsonb_build_array(jsonb_build_object(
                   'id', n.id, 'title', n.title, 'body', n.body)))
          FROM r, n)
    SELECT id FROM r")
  cpu0=$(cpu_ticks)
  x0=$(commits)
  t0=$(date +%s.%N)
  sql "SELECT pg_notify('nyxgate_pipeline_wake', '$run')" >/dev/null
  polls=0
  while [[ $(sql "SELECT status FROM pipeline_runs WHERE id = '$run'") == running ]]; do
    polls=$((polls + 1))
    sleep 0.05
  done
  t1=$(date +%s.%N)
  cpu1=$(cpu_ticks)
  x1=$(commits)
  done_items=$(sql "SELECT count(*) FROM pipeline_items WHERE run_id = '$run' AND status = 'done'")
  [[ $done_items == "$items" ]] || die "c=$c: $done_items of $items items done"
  hz=$(getconf CLK_TCK)
  secs[$c]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  rate[$c]=$(awk -v n="$items" -v s="${secs[$c]}" 'BEGIN { printf "%.1f", n / s }')
  cpu_us[$c]=$(awk -v d=$((cpu1 - cpu0)) -v hz="$hz" -v n="$items" 'BEGIN { printf "%.0f", d / hz * 1e6 / n }')
  # Minus this script's own statements: the wake, the polls and the last reading.
  xacts[$c]=$(awk -v d=$((x1 - x0 - polls - 3)) -v n="$items" 'BEGIN { printf "%.2f", d / n }')
  log "c=$c: $items items in ${secs[$c]} s, ${rate[$c]} items/s, ${cpu_us[$c]} µs CPU and ${xacts[$c]} transactions per item"
  stop_nyxgate
done

report() {
  echo "# Pipeline engine benchmark, $stamp"
  echo
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -sr); load average before: $load_before"
  echo "- one node (embedded PostgreSQL, fast unsafe), the Node mock providers answering every call after $call_ms ms; a blog run of $items items, one note each"
  echo "- concurrency = workflows.node_concurrency = run_concurrency = tenant_concurrency; the transactions of this script's own status polls are left out"
  echo
  echo "| concurrency | seconds | items/s | ideal items/s | CPU µs per item | transactions per item |"
  echo "|---:|---:|---:|---:|---:|---:|"
  for c in $concurrency; do
    ideal=$(awk -v c="$c" -v ms="$call_ms" 'BEGIN { printf "%.0f", c * 1000 / ms }')
    echo "| $c | ${secs[$c]} | ${rate[$c]} | $ideal | ${cpu_us[$c]} | ${xacts[$c]} |"
  done
}
mkdir -p "$(dirname "$results")"
report | tee "$results"
