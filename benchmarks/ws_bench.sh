#!/usr/bin/env bash
# WebSocket load benchmark (see ws_bench.mjs): 10,000 idle sockets, then 2,000 concurrent
# streams. Raises the file-descriptor limit for itself and the processes it starts.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need=$(( ${IDLE_SOCKETS:-10000} + 1000 ))
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $need ]]; then
  echo "ws_bench: ulimit -n is $(ulimit -n); need >= $need (raise the hard limit)" >&2
  exit 1
fi
[[ -d $here/../tests/e2e/node_modules/ws ]] || (cd "$here/../tests/e2e" && npm ci --no-audit --no-fund)
exec node "$here/ws_bench.mjs" "$@"
