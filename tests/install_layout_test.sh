#!/usr/bin/env bash
# Installs the build into a temporary prefix and checks the installed layout.
set -euo pipefail
build_dir=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
failed=0
for file in \
  bin/dbkeeper \
  lib/systemd/system/dbkeeper.service \
  share/doc/dbkeeper/examples/dbkeeper.example.toml \
  share/dbkeeper/alerts/dbkeeper.rules.yml \
  share/dbkeeper/grafana/dashboards/dbkeeper-databases.json \
  share/dbkeeper/grafana/dashboards/dbkeeper-backups.json \
  share/dbkeeper/grafana/provisioning/dashboards/dbkeeper.yml \
  share/dbkeeper/grafana/provisioning/datasources/dbkeeper.yml; do
  if [ ! -f "$prefix/$file" ]; then
    echo "missing: $file"
    failed=1
  fi
done
"$prefix/bin/dbkeeper" --version | grep -q '^dbkeeper ' || { echo "installed binary does not run"; failed=1; }
# The shipped example configuration must itself be valid, given its password file.
example=$(mktemp -d)
trap 'rm -rf "$prefix" "$example"' EXIT
sed -e "s|/etc/dbkeeper/shop.password|$example/shop.password|" \
  "$prefix/share/doc/dbkeeper/examples/dbkeeper.example.toml" >"$example/dbkeeper.toml"
(umask 077 && echo secret >"$example/shop.password")
if ! BILLING_DB_PASSWORD=x "$prefix/bin/dbkeeper" check-config --config "$example/dbkeeper.toml" >/dev/null; then
  echo "the example configuration is invalid"
  failed=1
fi
[ "$failed" -eq 0 ] && echo "install layout ok"
exit "$failed"
