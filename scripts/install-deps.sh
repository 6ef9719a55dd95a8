#!/usr/bin/env bash
# Installs what building and testing nyxgate needs on Debian 12. Idempotent: only missing
# packages are installed, and a second run finishes in seconds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libcaf-dev libboost1.81-all-dev libboost-json1.81-dev libboost-url1.81-dev
  libsimdjson-dev libpq-dev postgresql-15 libssl-dev libtomlplusplus-dev libjemalloc-dev
  ca-certificates
  # libFuzzer targets (scripts/fuzz.sh) and the gateway benchmark (benchmarks/gateway_bench.sh)
  clang-14 libclang-rt-14-dev wrk nginx
  # the browser test of GET /v1/ws (tests/e2e/browser.test.mjs)
  chromium
  # the Debian package and its test (scripts/build.sh deb, tests/package/deb_test.sh), and the
  # README quickstart's tools (tests/e2e/quickstart.test.mjs)
  dpkg-dev lintian curl postgresql-client-15
  # two nodes behind a load balancer (tests/e2e/scale_out.test.mjs)
  haproxy
  # blog posts rendered as CommonMark (api/blog), and the public pages' HTML check
  libcmark-dev tidy
)

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == *" ok installed" ]]
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
# Node >= 18 with npm runs the end-to-end tests. A NodeSource `nodejs` bundles npm and
# conflicts with Debian's `npm`, so a working `node`/`npm` on PATH counts as installed.
command -v node >/dev/null || installed nodejs || missing+=(nodejs)
command -v npm >/dev/null || installed npm || missing+=(npm)

if ((${#missing[@]})); then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "install-deps: installing ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < 18)); then
  echo "install-deps: node $(node --version) is too old, the tests need node >= 18" >&2
  exit 1
fi

# The end-to-end tests' npm packages, pinned by package-lock.json.
e2e="$root/tests/e2e"
if [[ ! -f "$e2e/node_modules/.package-lock.json" ||
      "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ]]; then
  echo "install-deps: npm ci in tests/e2e" >&2
  (cd "$e2e" && npm ci --no-audit --no-fund)
fi
