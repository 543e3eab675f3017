#!/usr/bin/env bash
# The dashboards use only documented metrics, pick their data source from the
# $datasource variable, and give every panel a unit.
set -euo pipefail
root=$1
failed=0
for dashboard in "$root"/grafana/dashboards/*.json; do
  name=$(basename "$dashboard")
  for metric in $(grep -o 'dbkeeper_[a-z_]*' "$dashboard" | sort -u); do
    grep -q "\`$metric\`" "$root/docs/metrics.md" || { echo "$name uses $metric, which docs/metrics.md does not list"; failed=1; }
  done
  if grep -o '"uid": "[^"]*"' "$dashboard" | grep -v '"uid": "\${datasource}"' | grep -vq "\"uid\": \"dbkeeper-"; then
    echo "$name hard-codes a data source uid"; failed=1
  fi
  panels=$(grep -c '"gridPos"' "$dashboard")
  units=$(grep -c '"unit"' "$dashboard")
  [ "$panels" -eq "$units" ] || { echo "$name: $panels panels but $units units"; failed=1; }
done
[ "$failed" -eq 0 ] && echo "dashboards ok"
exit "$failed"
