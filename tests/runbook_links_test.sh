#!/usr/bin/env bash
# Every alert has a runbook_url whose anchor is a section of docs/runbooks.md.
set -euo pipefail
root=$1
failed=0
alerts=$(grep -E '^\s+- alert:' "$root/alerts/dbkeeper.rules.yml" | awk '{print $3}')
for alert in $alerts; do
  anchor=$(echo "$alert" | tr 'A-Z' 'a-z')
  grep -q "runbooks.md#$anchor\"" "$root/alerts/dbkeeper.rules.yml" || { echo "$alert: no runbook_url to #$anchor"; failed=1; }
  grep -qx "## $alert" "$root/docs/runbooks.md" || { echo "$alert: no '## $alert' section in docs/runbooks.md"; failed=1; }
  grep -q "alertname: $alert\$" "$root/alerts/dbkeeper.rules.test.yml" || { echo "$alert: no promtool test"; failed=1; }
done
[ "$failed" -eq 0 ] && echo "$(echo "$alerts" | wc -w) alerts, each with a runbook section and a promtool test"
exit "$failed"
