#!/usr/bin/env bash
# Gateway load benchmark: wrk against POST /v1/chat/completions served three ways,
#   direct   wrk -> mock upstream (HTTP; HTTPS with DIRECT_TLS=1)  the floor
#   nginx    wrk -> nginx (HTTP) -> mock upstream (HTTPS)       the reference proxy
#   nyxgate  wrk -> nyxgate (HTTP) -> mock upstream (HTTPS)     when the binary has the endpoint
# for {json, stream} x concurrency {1, 64, 512}; prints a markdown table and writes it to
# benchmarks/results/gateway-<date>-<commit>.md. See benchmarks/README.md.
#
# Environment (all optional):
#   DURATION=10s WARMUP=2s RUNS=3      per measurement, warm-up before each, runs per cell
#   CONCURRENCY="1 64 512" MODES="json stream" TARGETS="direct nginx nyxgate"
#   PACED_THINK_MS=8 PACED_CONCURRENCY=64   a second table: connections that wait a random think
#                                           time (mean in ms) between calls; a list ("8 3") runs
#                                           each as its own offered load; empty: no such table
#   DIRECT_TLS=0 (1: the direct target is the HTTPS mock the proxies use, not a plain twin)
#   WRK_THREADS=2 MOCK_THREADS=2 MOCK_CHUNKS=8  stream events (and JSON tokens) per answer
#   MOCK_CPUS=  NGINX_CPUS=  NYXGATE_CPUS=  WRK_CPUS=   taskset -c lists; empty: not pinned
#   BUILD_DIR=build/release  MOCK_BIN=$BUILD_DIR/benchmarks/nyxgate_mock_upstream
#   NYXGATE_BIN=$BUILD_DIR/nyxgate   NYXGATE_FLAGS=  (more serve flags)   NGINX_BIN=nginx   RESULTS=benchmarks/results/gateway-DATE-COMMIT.md
#   HOLD=FILE   set up, write the targets to FILE and wait instead of measuring
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build_dir=${BUILD_DIR:-$repo/build/release}
mock_bin=${MOCK_BIN:-$build_dir/benchmarks/nyxgate_mock_upstream}
nyxgate_bin=${NYXGATE_BIN:-$build_dir/nyxgate}
nginx_bin=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
duration=${DURATION:-10s}
warmup=${WARMUP:-2s}
runs=${RUNS:-3}
concurrency=${CONCURRENCY:-1 64 512}
modes=${MODES:-json stream}
targets=${TARGETS:-direct nginx nyxgate}
wrk_threads=${WRK_THREADS:-2}
mock_threads=${MOCK_THREADS:-2}
mock_chunks=${MOCK_CHUNKS:-8}
paced_think=${PACED_THINK_MS-8}
paced_conc=${PACED_CONCURRENCY:-64}
stamp=$(date -u +%Y-%m-%d)-$(git -C "$here" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
results=${RESULTS:-$here/results/gateway-$stamp.md}

bench_name=gateway_bench
# shellcheck source=benchmarks/bench_common.sh
source "$here/bench_common.sh"

command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
command -v openssl >/dev/null || die "openssl is not installed"
command -v curl >/dev/null || die "curl is not installed"
[[ -x $mock_bin ]] || die "no mock upstream at $mock_bin (ninja -C build/release nyxgate_mock_upstream)"
if [[ " $targets " == *" nginx "* ]] && [[ ! -x $nginx_bin ]]; then
  die "no nginx at $nginx_bin (apt-get install nginx, or TARGETS without nginx)"
fi

# 512 client connections plus as many upstream ones per proxy, plus the proxies' own.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[[ $(ulimit -n) == unlimited || $(ulimit -n) -ge 4096 ]] || die "ulimit -n is $(ulimit -n); need >= 4096"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/nyxgate-bench.XXXXXX)
chmod 755 "$work"  # the embedded PostgreSQL may run as another user and must reach its folder
pids=()
nyxgate_pid=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_nyxgate
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- a throw-away CA and a server certificate for 127.0.0.1 ------------------------------------
certs=$work/certs
mkdir -p "$certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=nyxgate bench CA" -keyout "$certs/ca.key" -out "$certs/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$certs/server.key" -out "$certs/server.csr" 2>/dev/null
printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
  "keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" >"$certs/ext.cnf"
openssl x509 -req -in "$certs/server.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" \
  -CAcreateserial -days 2 -extfile "$certs/ext.cnf" -out "$certs/server.pem" 2>/dev/null

# --- the mock upstream ---------------------------------------------------------------------------
pin "${MOCK_CPUS:-}" "$mock_bin" --listen 127.0.0.1:0 --threads "$mock_threads" \
  --port-file "$work/mock.port" --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" \
  --chunks "$mock_chunks" >"$work/mock.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do [[ -s $work/mock.port ]] && break; sleep 0.1; done
[[ -s $work/mock.port ]] || die "the mock upstream did not start: $(cat "$work/mock.log")"
mock_port=$(cat "$work/mock.port")
mock_url=https://127.0.0.1:$mock_port
wait_http "$mock_url/v1/models" 5 --cacert "$certs/ca.pem" || die "the mock upstream does not answer"
log "mock upstream on $mock_url ($mock_threads threads)"

declare -A url
if [[ ${DIRECT_TLS:-0} == 1 ]]; then
  url[direct]=$mock_url/v1/chat/completions
  direct_note="the HTTPS mock the proxies use"
else
  # The proxies' client side is plain HTTP, so the floor is too: a twin of the mock on HTTP.
  # Otherwise wrk's TLS work (512 handshakes at start, encryption on each call) would burden
  # the direct target alone and make the proxies look cheaper than they are.
  pin "${MOCK_CPUS:-}" "$mock_bin" --listen 127.0.0.1:0 --threads "$mock_threads" \
    --port-file "$work/mock-plain.port" --plain --chunks "$mock_chunks" >"$work/mock-plain.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do [[ -s $work/mock-plain.port ]] && break; sleep 0.1; done
  [[ -s $work/mock-plain.port ]] || die "the plain mock did not start: $(cat "$work/mock-plain.log")"
  url[direct]=http://127.0.0.1:$(cat "$work/mock-plain.port")/v1/chat/completions
  wait_http "${url[direct]%/chat/completions}/models" 5 || die "the plain mock does not answer"
  direct_note="a plain-HTTP twin of the mock (same binary and flags)"
fi

# --- nginx ---------------------------------------------------------------------------------------
if [[ " $targets " == *" nginx "* ]]; then
  nginx_port=$(free_port)
  ngx=$work/nginx
  mkdir -p "$ngx/tmp"
  chmod 777 "$ngx/tmp"
  # Two workers: nyxgate runs two I/O threads by default. Keep-alive both ways, no request cap
  # per connection, TLS to the upstream verified against the bench CA with session reuse. The
  # name checked is the certificate's DNS:localhost: nginx 1.22 matches host names, not IP SANs.
  cat >"$ngx/nginx.conf" <<EOF
worker_processes 2;
worker_rlimit_nofile 65536;
daemon off;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  upstream mock {
    server 127.0.0.1:$mock_port;
    keepalive 128;
    keepalive_requests 10000000;
  }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass https://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_trusted_certificate $certs/ca.pem;
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name off;
      proxy_ssl_session_reuse on;
      proxy_buffering off;
    }
  }
}
EOF
  pin "${NGINX_CPUS:-}" "$nginx_bin" -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log" \
    >"$ngx/stdout.log" 2>&1 &
  pids+=($!)
  url[nginx]=http://127.0.0.1:$nginx_port/v1/chat/completions
  wait_http "http://127.0.0.1:$nginx_port/v1/models" 10 || die "nginx does not answer: $(tail -5 "$ngx/error.log")"
  log "nginx on 127.0.0.1:$nginx_port (2 workers)"
fi

# --- nyxgate -------------------------------------------------------------------------------------
nyxgate_note=""
nyxgate_token=""
nyx_base=""
if [[ " $targets " == *" nyxgate "* ]]; then
  if [[ ! -x $nyxgate_bin ]]; then
    nyxgate_note="nyxgate: no binary at $nyxgate_bin, skipped"
  else
    init_nyxgate
    nyxgate_token=$(cat "$data/admin.token")
    nyx_port=$(free_port)
    nyx_base=http://127.0.0.1:$nyx_port
    pin "${NYXGATE_CPUS:-}" "$nyxgate_bin" serve "${common[@]}" --server.listen="127.0.0.1:$nyx_port" \
      --server.threads=2 --providers.openai.base_url="$mock_url" --tls.ca_file="$certs/ca.pem" \
      --log.level=warn ${NYXGATE_FLAGS:-} >"$work/nyxgate.log" 2>&1 &
    nyxgate_pid=$!
    wait_http "$nyx_base/readyz" 60 || die "nyxgate serve is not ready: $(tail -5 "$work/nyxgate.log")"
    trpc() {  # trpc PROCEDURE JSON: a tRPC mutation; prints the HTTP status
      curl -sS -o "$work/trpc.out" -w '%{http_code}' -X POST "$nyx_base/trpc/$1" \
        -H "Authorization: Bearer $nyxgate_token" -H 'Content-Type: application/json' --data "$2"
    }
    code=$(trpc apiKeys.create '{"provider":"openai","name":"bench","key":"sk-bench-upstream-key-0001"}')
    [[ $code == 200 ]] || die "apiKeys.create answered $code: $(head -c 300 "$work/trpc.out")"
    code=$(trpc llmDefaults.update '{"primary":"openai","fallback":null}')
    [[ $code == 200 ]] || die "llmDefaults.update answered $code: $(head -c 300 "$work/trpc.out")"
    probe_body='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
    code=$(curl -sS -o "$work/probe.out" -w '%{http_code}' --max-time 10 -X POST \
      "$nyx_base/v1/chat/completions" -H "Authorization: Bearer $nyxgate_token" \
      -H 'Content-Type: application/json' --data "$probe_body" || true)
    if [[ $code == 200 ]]; then
      url[nyxgate]=$nyx_base/v1/chat/completions
      log "nyxgate on $nyx_base (2 I/O threads)"
    elif [[ $code == 404 ]]; then
      nyxgate_note="nyxgate: endpoint not available, skipped"
    else
      nyxgate_note="nyxgate: probe call answered HTTP $code, skipped: $(head -c 200 "$work/probe.out")"
    fi
  fi
  if [[ -n $nyxgate_note ]]; then
    echo "$nyxgate_note"
    stop_nyxgate
  fi
fi

db_queries() {  # nyxgate_db_queries_total from /metrics
  curl -fsS --max-time 5 "$nyx_base/metrics" | awk '$1 == "nyxgate_db_queries_total" { print $2 }'
}

# HOLD=FILE: set up, write the targets' URLs, the nyxgate token and pid to FILE, and wait (until
# killed) instead of measuring: for profiling a target by hand (perf, strace, /proc) under wrk.
if [[ -n ${HOLD:-} ]]; then
  {
    echo "DIRECT_URL=${url[direct]:-}"
    echo "NGINX_URL=${url[nginx]:-}"
    echo "NYX_URL=${url[nyxgate]:-}"
    echo "NYX_TOKEN=$nyxgate_token"
    echo "NYX_PID=$nyxgate_pid"
  } >"$HOLD"
  log "set up; the targets are in $HOLD; waiting until killed"
  # A background sleep and `wait`: bash runs the INT/TERM trap (and so the cleanup) only
  # after a foreground command ends, but interrupts `wait` at once.
  sleep infinity &
  pids+=($!)
  wait "$!"
fi

# --- the runs ------------------------------------------------------------------------------------
# One cell = (mode, concurrency, target); its RUNS runs are interleaved across targets so that
# a noisy neighbour hits every target alike. Each run gets its own warm-up.
declare -A rps p50 p99 p999 errs non2xx dbq added_runs

run_wrk() {  # run_wrk MODE CONC TARGET DURATION [THINK_MS]: prints wrk's JSON line
  local mode=$1 conc=$2 target=$3 dur=$4 think=${5:-}
  local threads=$((conc < wrk_threads ? conc : wrk_threads))
  local token=sk-bench-direct
  [[ $target == nyxgate ]] && token=$nyxgate_token
  BENCH_THINK_MS=$think BENCH_TOKEN=$token BENCH_LABEL="$mode/$conc/$target${think:+/think $think}" pin "${WRK_CPUS:-}" \
    wrk -t"$threads" -c"$conc" -d"$dur" --timeout 10s -s "$here/wrk/chat_$mode.lua" \
    "${url[$target]}" | { grep '^{' || true; } | tail -1
}

active_targets=()
for t in direct nginx nyxgate; do
  if [[ " $targets " == *" $t "* && -n ${url[$t]:-} ]]; then active_targets+=("$t"); fi
done

for mode in $modes; do
  for conc in $concurrency; do
    declare -A s_rps=() s_p50=() s_p99=() s_p999=() s_err=() s_non2xx=() s_dbq=()
    for run in $(seq 1 "$runs"); do
      for t in "${active_targets[@]}"; do
        run_wrk "$mode" "$conc" "$t" "$warmup" >/dev/null
        if [[ $t == nyxgate ]]; then before=$(db_queries); fi
        line=$(run_wrk "$mode" "$conc" "$t" "$duration")
        [[ -n $line ]] || die "wrk printed no result for $mode/$conc/$t"
        log "run $run: $line"
        keep "$line" "$t"
        e=$(($(json_num "$line" connect) + $(json_num "$line" read) + $(json_num "$line" write) + $(json_num "$line" timeout)))
        s_err[$t]=$((${s_err[$t]:-0} + e))
        if [[ $t == nyxgate ]]; then
          after=$(db_queries)
          n=$(json_num "$line" requests)
          s_dbq[$t]+="$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.3f", (n > 0) ? (a - b) / n : 0 }') "
        fi
      done
    done
    for t in "${active_targets[@]}"; do
      k="$mode,$conc,$t"
      rps[$k]=$(samples median "${s_rps[$t]}")
      rps[$k,spread]=$(samples spread "${s_rps[$t]}")
      p50[$k]=$(samples median "${s_p50[$t]}")
      p99[$k]=$(samples median "${s_p99[$t]}")
      p999[$k]=$(samples median "${s_p999[$t]}")
      errs[$k]=${s_err[$t]}
      non2xx[$k]=${s_non2xx[$t]}
      if [[ $t == nyxgate ]]; then dbq[$k]=$(samples median "${s_dbq[$t]}"); fi
      # Each run's p99 minus the same round's direct p99: how much "added p99" moves by itself.
      if [[ $t != direct && -n ${s_p99[direct]:-} ]]; then
        added_runs[$k]=$(paste -d' ' <(tr ' ' '\n' <<<"${s_p99[$t]}" | grep .) \
          <(tr ' ' '\n' <<<"${s_p99[direct]}" | grep .) |
          awk '{ printf "%s%+.2f", (NR > 1) ? " " : "", ($1 - $2) / 1000 }')
      fi
    done
    unset s_rps s_p50 s_p99 s_p999 s_err s_non2xx s_dbq
  done
done

# --- paced: the same targets at the same offered load ---------------------------------------------
# Saturated, every target runs as fast as the two cores allow, and a closed loop's latency is
# mostly the queue: connections / throughput. Paced, each connection thinks between calls, the
# offered load is the same for all targets and well below what any of them can do, and the
# added latency is what the proxy's path costs a call.
declare -A q_rps q_p50 q_p99 q_p999 q_non2xx
for think in $paced_think; do
  for mode in $modes; do
    declare -A s_rps=() s_p50=() s_p99=() s_p999=() s_non2xx=()
    for run in $(seq 1 "$runs"); do
      for t in "${active_targets[@]}"; do
        run_wrk "$mode" "$paced_conc" "$t" "$warmup" "$think" >/dev/null
        line=$(run_wrk "$mode" "$paced_conc" "$t" "$duration" "$think")
        [[ -n $line ]] || die "wrk printed no result for paced $mode/$t/think $think"
        log "paced run $run: $line"
        keep "$line" "$t"
      done
    done
    for t in "${active_targets[@]}"; do
      k="$mode,$think,$t"
      q_rps[$k]=$(samples median "${s_rps[$t]}")
      q_p50[$k]=$(samples median "${s_p50[$t]}")
      q_p99[$k]=$(samples median "${s_p99[$t]}")
      q_p999[$k]=$(samples median "${s_p999[$t]}")
      q_non2xx[$k]=${s_non2xx[$t]}
    done
    unset s_rps s_p50 s_p99 s_p999 s_non2xx
  done
done

# --- the report ----------------------------------------------------------------------------------
report() {
  echo "# Gateway load benchmark, $stamp"
  echo
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -sr); load average before: $load_before"
  echo "- all processes (wrk, mock, nginx, nyxgate) share these cores; other jobs may run too"
  echo "- wrk $(wrk --version 2>&1 | head -1 | awk '{print $2}') -t$wrk_threads (fewer at c=1), $duration per run after a $warmup warm-up, $runs runs per cell (median; spread = (max-min)/median of req/s)"
  echo "- direct = $direct_note"
  echo "- mock upstream: $mock_threads threads, HTTPS, $mock_chunks tokens per answer; stream = $mock_chunks delta events + usage event + [DONE], no pacing"
  echo "- nginx $("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///'): 2 workers, upstream keepalive 128, TLS verified, proxy_buffering off"
  echo "- nyxgate binary: ${nyxgate_bin#"$repo"/}$(git -C "$repo" rev-parse --short HEAD 2>/dev/null | sed 's/^/ at /')"
  echo "- pinning: mock=${MOCK_CPUS:-none} nginx=${NGINX_CPUS:-none} nyxgate=${NYXGATE_CPUS:-none} wrk=${WRK_CPUS:-none}"
  if [[ -n $nyxgate_note ]]; then echo "- $nyxgate_note"; fi
  echo
  echo "| mode | conns | target | req/s | spread | p50 ms | p99 ms | p99.9 ms | errors | non-2xx | added p99 ms | added p99 by run | req/s vs nginx | db queries/call |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
  for mode in $modes; do
    for conc in $concurrency; do
      for t in "${active_targets[@]}"; do
        k="$mode,$conc,$t"
        added="-"
        vs_nginx="-"
        q="-"
        if [[ $t != direct && -n ${p99[$mode,$conc,direct]:-} ]]; then
          added=$(awk -v a="${p99[$k]}" -v d="${p99[$mode,$conc,direct]}" 'BEGIN { printf "%+.2f", (a - d) / 1000 }')
        fi
        if [[ $t == nyxgate && -n ${rps[$mode,$conc,nginx]:-} ]]; then
          vs_nginx=$(awk -v a="${rps[$k]}" -v n="${rps[$mode,$conc,nginx]}" 'BEGIN { printf "%.2f", (n > 0) ? a / n : 0 }')
        fi
        if [[ $t == nyxgate ]]; then q=${dbq[$k]}; fi
        printf '| %s | %s | %s | %.0f | %.0f %% | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
          "$mode" "$conc" "$t" "${rps[$k]}" "${rps[$k,spread]}" "$(ms "${p50[$k]}")" \
          "$(ms "${p99[$k]}")" "$(ms "${p999[$k]}")" "${errs[$k]}" "${non2xx[$k]}" "$added" \
          "${added_runs[$k]:--}" "$vs_nginx" "$q"
      done
    done
  done
  [[ -n ${paced_think// /} ]] || return 0
  echo
  echo "Paced: $paced_conc connections, each waiting a random think time (exponential, mean \"think\" ms) between calls; the same offered load for every target at each think time. Added = the target's minus direct's (median of $runs runs)."
  echo
  echo "The load column: direct's paced rate (the offered load) / nginx's saturated rate at $paced_conc connections in this run. The p99 target is read where it is at most 0.4 (docs/architecture.md, Decisions)."
  echo
  echo "| mode | think ms | target | req/s | p50 ms | p99 ms | p99.9 ms | non-2xx | added p50 ms | added p99 ms | added p99 vs nginx's | load |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for mode in $modes; do
    for think in $paced_think; do
      for t in "${active_targets[@]}"; do
        k="$mode,$think,$t"
        local d="$mode,$think,direct" n="$mode,$think,nginx" a50="-" a99="-" ratio="-" load="-"
        local saturated=${rps[$mode,$paced_conc,nginx]:-}
        if [[ $t != direct && -n ${q_p99[$d]:-} ]]; then
          a50=$(awk -v a="${q_p50[$k]}" -v d="${q_p50[$d]}" 'BEGIN { printf "%+.2f", (a - d) / 1000 }')
          a99=$(awk -v a="${q_p99[$k]}" -v d="${q_p99[$d]}" 'BEGIN { printf "%+.2f", (a - d) / 1000 }')
        fi
        if [[ $t == nyxgate && -n ${q_p99[$n]:-} && -n ${q_p99[$d]:-} ]]; then
          ratio=$(awk -v x="${q_p99[$k]}" -v n="${q_p99[$n]}" -v d="${q_p99[$d]}" \
            'BEGIN { if (n - d > 0) printf "%.1f x", (x - d) / (n - d); else print "n/a" }')
          if [[ -n $saturated ]]; then
            load=$(awk -v o="${q_rps[$d]}" -v s="$saturated" 'BEGIN { printf "%.2f", (s > 0) ? o / s : 0 }')
          fi
        fi
        printf '| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$mode" "$think" "$t" \
          "${q_rps[$k]}" "$(ms "${q_p50[$k]}")" "$(ms "${q_p99[$k]}")" "$(ms "${q_p999[$k]}")" \
          "${q_non2xx[$k]}" "$a50" "$a99" "$ratio" "$load"
      done
    done
  done
}

mkdir -p "$(dirname "$results")"
report | tee "$results"
log "results written to $results"
