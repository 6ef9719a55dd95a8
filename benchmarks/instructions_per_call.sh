#!/usr/bin/env bash
# Instructions per completion call, counted by callgrind: a figure that does not move with the
# machine's load, for comparing two builds where wall-clock runs differ by 15 % between runs.
#
#   benchmarks/instructions_per_call.sh [NYXGATE_BIN ...]     (MODE=json|stream, SECONDS_=6,
#                                                              BENCH_TOOLS=1: a tool-calling
#                                                              request answered by a tool call,
#                                                              TOP=N: the N costliest functions,
#                                                              KEEP=DIR: keep the dumps)
#
# Per binary: a throw-away data folder seeded by `nyxgate init` (embedded PostgreSQL), that
# cluster restarted on its own (callgrind cannot follow the server's fork into PostgreSQL),
# then `nyxgate serve` under callgrind against the HTTPS mock. wrk warms up with 8 connections,
# the counters are zeroed, wrk runs again, the counters are dumped. Prints the user-space
# instructions per call, total and without TLS handshakes (new upstream connections opened
# while the slowed-down server times calls out; noise, not per-call work). Needs valgrind, wrk,
# and root (PostgreSQL runs as the `postgres` user). Takes about a minute per binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
mode=${MODE:-json}
seconds=${SECONDS_:-6}
bins=("$@")
[[ ${#bins[@]} -gt 0 ]] || bins=("$root/build/release/nyxgate")
mock_bin="$root/build/release/benchmarks/nyxgate_mock_upstream"
for tool in valgrind callgrind_control callgrind_annotate wrk; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install valgrind wrk)" >&2; exit 1; }
done
[[ -x $mock_bin ]] || { echo "build the mock first: ninja -C build/release nyxgate_mock_upstream" >&2; exit 1; }
pg_ctl=$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)

work=$(mktemp -d /tmp/nyxgate-ipc.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f $work/data/postgres/postmaster.pid ]] &&
    su postgres -s /bin/sh -c "$pg_ctl -D $work/data/postgres -m fast stop" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

certs=$work/certs
mkdir -p "$certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=ca" \
  -keyout "$certs/ca.key" -out "$certs/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$certs/server.key" -out "$certs/server.csr" 2>/dev/null
printf '%s\n' "subjectAltName=IP:127.0.0.1" "extendedKeyUsage=serverAuth" >"$certs/ext.cnf"
openssl x509 -req -in "$certs/server.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" \
  -CAcreateserial -days 2 -extfile "$certs/ext.cnf" -out "$certs/server.pem" 2>/dev/null
"$mock_bin" --listen 127.0.0.1:0 --threads 2 --port-file "$work/mock.port" \
  --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" --chunks 8 >"$work/mock.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -s $work/mock.port ]] && break; sleep 0.1; done
mock_port=$(cat "$work/mock.port")
port=18999
url="http://127.0.0.1:$port"

wait_ready() {
  for _ in $(seq 240); do curl -fs -o /dev/null "$url/readyz" && return 0; sleep 0.5; done
  echo "nyxgate did not become ready" >&2
  return 1
}

for bin in "${bins[@]}"; do
  data=$work/data
  rm -rf "$data"
  mkdir -p "$data"
  common=(--server.data_dir="$data" --database.embedded_fast_unsafe=true)
  serve=(--server.listen="127.0.0.1:$port" --server.threads=2 --log.level=warn
    --providers.openai.base_url="https://127.0.0.1:$mock_port" --tls.ca_file="$certs/ca.pem")
  # Seed: init, then one plain serve (embedded cluster) to add the key and the defaults.
  "$bin" init --tenant-slug bench --tenant-name Bench --admin-email b@b.test --admin-name B \
    --token-file "$data/admin.token" "${common[@]}" >"$work/init.log" 2>&1
  token=$(cat "$data/admin.token")
  "$bin" serve "${common[@]}" "${serve[@]}" >"$work/seed.log" 2>&1 &
  seed=$!
  wait_ready
  curl -fs -o /dev/null -X POST "$url/trpc/apiKeys.create" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' \
    --data '{"provider":"openai","name":"b","key":"sk-bench-upstream-key-0001"}'
  curl -fs -o /dev/null -X POST "$url/trpc/llmDefaults.update" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' --data '{"primary":"openai","fallback":null}'
  kill "$seed"
  wait "$seed" || true
  # The cluster on its own, then serve under callgrind with it as an external database.
  touch "$work/pg.log"
  chown postgres "$work/pg.log"
  su postgres -s /bin/sh -c "$pg_ctl -D $data/postgres -l $work/pg.log -w -o \
    \"-c listen_addresses= -c unix_socket_directories=$data/postgres/run -c fsync=off\" start" \
    >/dev/null
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" serve \
    --server.data_dir="$data" "--database.url=host=$data/postgres/run user=nyxgate dbname=nyxgate" \
    "${serve[@]}" >"$work/serve.log" 2>&1 &
  vg=$!
  pids+=($vg)
  wait_ready
  BENCH_TOKEN=$token wrk -t2 -c8 -d4s -s "$here/wrk/chat_$mode.lua" "$url/v1/chat/completions" >/dev/null
  callgrind_control -z "$vg" >/dev/null 2>&1
  line=$(BENCH_TOKEN=$token BENCH_LABEL=x wrk -t2 -c8 -d"${seconds}s" -s "$here/wrk/chat_$mode.lua" \
    "$url/v1/chat/completions" | grep '^{')
  callgrind_control -d "$vg" >/dev/null 2>&1
  kill "$vg"
  wait "$vg" 2>/dev/null || true
  su postgres -s /bin/sh -c "$pg_ctl -D $data/postgres -m fast stop" >/dev/null
  calls=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' <<<"$line")
  non2xx=$(sed -n 's/.*"non2xx":\([0-9]*\).*/\1/p' <<<"$line")
  dump=$(ls -t "$work"/cg.out.* | head -1)
  report=$(callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2>/dev/null)
  total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' <<<"$report")
  shake=$(awk '/engine::handshake\(/ { gsub(",", "", $1); print $1; exit }' <<<"$report")
  shake=${shake:-0}
  echo "$bin $mode${BENCH_TOOLS:+ tools}: calls=$calls non2xx=$non2xx instructions/call=$((total / calls))" \
    "without handshakes=$(((total - shake) / calls))"
  # TOP=N: the N functions with the most instructions of their own per call; the frames still
  # running when the counters are dumped (the threads' entry points) show 100 % and are skipped.
  if [[ -n ${TOP:-} ]]; then
    callgrind_annotate --inclusive=no --threshold=100 "$dump" 2>/dev/null |
      awk -v n="$TOP" -v calls="$calls" '/^ *[0-9][0-9,]* / && !/PROGRAM TOTALS/ && !/\(100\.0%\)/ && $0 ~ /:/ {
        c = $1; gsub(",", "", c); $1 = ""; if (k++ < n) printf "  %7.0f %s\n", c / calls, $0 }'
  fi
  # KEEP=DIR: keep the dump there (callgrind_annotate --inclusive=yes DIR/... for callers).
  [[ -n ${KEEP:-} ]] && mkdir -p "$KEEP" && cp "$dump" "$KEEP/$(basename "$bin").$mode.callgrind"
  rm -f "$work"/cg.out*
done
