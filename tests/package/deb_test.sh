#!/usr/bin/env bash
# The Debian package: builds it, checks it with lintian (no errors) and its control data, then
# extracts the payload into a temporary root and serves with the packaged binary and
# /etc/nyxgate/nyxgate.toml against the HTTPS mock (packaged_serve.mjs).
#   deb_test.sh            packs the release build (`scripts/build.sh deb`)
#   deb_test.sh BUILD_DIR  packs that, already built, build (ctest passes the build under test,
#                          so the test command compiles nothing twice)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

if [[ $# -gt 0 ]]; then
  (cd "$1" && cpack -G DEB >/dev/null)
  deb=$(ls "$1"/nyxgate_*.deb | tail -n 1)
else
  deb=$(./scripts/build.sh deb | tail -n 1)
fi
[[ -f $deb ]] || { echo "deb_test: build.sh deb named no package ($deb)" >&2; exit 1; }
echo "deb_test: $deb"

work=$(mktemp -d /tmp/nyxgate-deb.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT

fail() { echo "deb_test: $*" >&2; exit 1; }

# lintian: errors fail the test; warnings are printed for the reader.
lintian --fail-on error --tag-display-limit 0 "$deb" || fail "lintian reports errors"

depends=$(dpkg-deb -f "$deb" Depends)
for dep in postgresql-15 adduser libpq5 libssl3; do
  [[ $depends == *"$dep"* ]] || fail "Depends lacks $dep: $depends"
done
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/nyxgate/nyxgate.toml "$work/control/conffiles" || fail "the config is no conffile"
[[ -x $work/control/postinst ]] || fail "no postinst"

dpkg -x "$deb" "$work/root"
for f in usr/bin/nyxgate lib/systemd/system/nyxgate.service etc/nyxgate/nyxgate.toml \
  usr/share/doc/nyxgate/copyright; do
  [[ -e $work/root/$f ]] || fail "the payload lacks /$f"
done
grep -qx 'data_dir = "/var/lib/nyxgate"' "$work/root/etc/nyxgate/nyxgate.toml" ||
  fail "the packaged config does not put the data under /var/lib/nyxgate"
grep -qx 'ExecStart=/usr/bin/nyxgate serve --config /etc/nyxgate/nyxgate.toml' \
  "$work/root/lib/systemd/system/nyxgate.service" || fail "the unit runs something else"

cd tests/e2e
NYXGATE_BIN="$work/root/usr/bin/nyxgate" \
  NYXGATE_PACKAGED_CONFIG="$work/root/etc/nyxgate/nyxgate.toml" \
  node --test --test-reporter=spec package/packaged_serve.mjs
