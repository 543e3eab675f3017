#!/usr/bin/env bash
# Builds the .deb with cpack, unpacks it with dpkg -x into a temp root and
# checks what a DBA gets: files in place, dependencies declared, a unit that
# systemd-analyze verifies and rates 2.5 or better.
set -euo pipefail
build_dir=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && cpack --config "$build_dir/CPackConfig.cmake" -B "$work/out" >/dev/null)
deb=$(ls "$work"/out/dbkeeper_*.deb)
dpkg-deb -x "$deb" "$work/root"
failed=0
for file in \
  usr/bin/dbkeeper \
  usr/lib/systemd/system/dbkeeper.service \
  usr/lib/sysusers.d/dbkeeper.conf \
  usr/lib/tmpfiles.d/dbkeeper.conf \
  usr/share/doc/dbkeeper/examples/dbkeeper.example.toml \
  usr/share/doc/dbkeeper/README.md \
  usr/share/doc/dbkeeper/runbooks.md \
  usr/share/dbkeeper/alerts/dbkeeper.rules.yml \
  usr/share/dbkeeper/grafana/dashboards/dbkeeper-databases.json; do
  [ -f "$work/root/$file" ] || { echo "missing from the package: $file"; failed=1; }
done
"$work/root/usr/bin/dbkeeper" --version | grep -q '^dbkeeper ' || { echo "packaged binary does not run"; failed=1; }
control=$(dpkg-deb -f "$deb" Depends Recommends)
for dependency in libmariadb3 libpq5 libzstd1 libprometheus-cpp-core libcivetweb libtomlplusplus libspdlog libsystemd0; do
  echo "$control" | grep -q "$dependency" || { echo "Depends lacks $dependency: $control"; failed=1; }
done
echo "$control" | grep -q "postgresql-client" || { echo "Recommends lacks the dump tools: $control"; failed=1; }
dpkg-deb -I "$deb" postinst >/dev/null || { echo "no postinst"; failed=1; }

# The unit as installed, judged by systemd-analyze against the host's units;
# only the binary's path points into the unpacked tree.
unit="$work/root/usr/lib/systemd/system/dbkeeper.service"
mkdir -p "$work/units"
sed "s|/usr/bin/dbkeeper|$work/root/usr/bin/dbkeeper|g" "$unit" >"$work/units/dbkeeper.service"
# verify exits 0 on many problems it only warns about: any output is a failure.
if ! systemd-analyze verify "$work/units/dbkeeper.service" >"$work/verify.log" 2>&1 || [ -s "$work/verify.log" ]; then
  echo "systemd-analyze verify complains:"; cat "$work/verify.log"; failed=1
fi
exposure=$(systemd-analyze security --offline=true "$work/units/dbkeeper.service" 2>&1 | sed -n 's/.*Overall exposure level for dbkeeper.service: \([0-9.]*\).*/\1/p')
if [ -z "$exposure" ] || ! awk -v e="$exposure" 'BEGIN { exit !(e <= 2.5) }'; then
  echo "systemd-analyze security rates the unit '${exposure:-unknown}', expected 2.5 or lower"; failed=1
fi
[ "$failed" -eq 0 ] && echo "package ok: $(basename "$deb"), exposure $exposure"
exit "$failed"
