# Shell helpers of the load benchmarks (gateway_bench.sh, blog_bench.sh): sourced, not run,
# after the script has set bench_name (its messages' prefix).

die() {
  echo "$bench_name: $*" >&2
  exit 1
}
log() { echo "$bench_name: $*" >&2; }

# SIGTERM and a wait of up to 15 s for $nyxgate_pid: nyxgate stops its embedded PostgreSQL on the
# way out.
stop_nyxgate() {
  if [[ -n $nyxgate_pid ]] && kill -0 "$nyxgate_pid" 2>/dev/null; then
    kill -TERM "$nyxgate_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$nyxgate_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$nyxgate_pid" 2>/dev/null || true
    wait "$nyxgate_pid" 2>/dev/null || true
  fi
  nyxgate_pid=""
}

# pin CPU_LIST CMD...: exec CMD, under taskset when a CPU list is given. Only in a subshell (a
# background job or a pipeline): the exec makes $! the server's own pid, so cleanup reaches it.
pin() {
  local cpus=$1
  shift
  if [[ -n $cpus ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if [[ -z $(ss -Htln "sport = :$p") ]]; then
      echo "$p"
      return
    fi
  done
  die "no free port found"
}

wait_http() {  # wait_http URL SECONDS [CURL_ARGS...]
  local url=$1 limit=$2
  shift 2
  for _ in $(seq 1 $((limit * 10))); do
    if curl -fsS -o /dev/null --max-time 1 "$@" "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

json_num() {  # json_num JSON FIELD: a top-level or nested numeric field of wrk's JSON line
  sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" <<<"$1"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { sort -g | awk '{ v[NR] = $1 } END { if (NR < 2) print 0; else { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print (m > 0) ? 100 * (v[NR] - v[1]) / m : 0 } }'; }

samples() {  # samples median|spread "V1 V2 ...": the median or spread of space-separated values
  tr ' ' '\n' <<<"$2" | grep . | "$1"
}

ms() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1000 }'; }

keep() {  # keep LINE TARGET: one run's req/s, percentiles and non-2xx into TARGET's samples
  local line=$1 t=$2
  s_rps[$t]+="$(json_num "$line" rps) "
  s_p50[$t]+="$(json_num "$line" p50_us) "
  s_p99[$t]+="$(json_num "$line" p99_us) "
  s_p999[$t]+="$(json_num "$line" p999_us) "
  s_non2xx[$t]=$((${s_non2xx[$t]:-0} + $(json_num "$line" non2xx)))
}

# init_nyxgate: a data folder $work/nyxgate seeded by `nyxgate init` (tenant "bench", its owner's
# token in $data/admin.token); sets data and common (the flags every later command needs).
init_nyxgate() {
  data=$work/nyxgate
  mkdir -p "$data"
  chmod 755 "$data"
  common=(--server.data_dir="$data" --database.embedded_fast_unsafe=true)
  "$nyxgate_bin" init --tenant-slug bench --tenant-name "Bench" --admin-email bench@bench.test \
    --admin-name "Bench" --token-file "$data/admin.token" "${common[@]}" >"$work/init.log" 2>&1 ||
    die "nyxgate init failed: $(tail -5 "$work/init.log")"
}
