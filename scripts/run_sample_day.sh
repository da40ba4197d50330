#!/usr/bin/env bash
# The main job on a fresh machine: set up, then run a sample day of real-shaped Daraja C2B
# confirmations through the ledger core against MariaDB, with redeliveries, and prove the books.
#   bash scripts/run_sample_day.sh            # database tuktuk_demo on 127.0.0.1:3306
#   TUKTUK_DB_URL=mysql://root@127.0.0.1:3306/other bash scripts/run_sample_day.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
export TUKTUK_DB_URL="${TUKTUK_DB_URL:-mysql://root@127.0.0.1:3306/tuktuk_demo}"
cli() { python -m tuktuk_management.cli "$@"; }

echo "== init";                                  cli init
echo "== load samples/fleet.json";               cli load samples/fleet.json
echo "== replay samples/callbacks.jsonl (4 workers)"; cli replay samples/callbacks.jsonl --workers 4
echo "== replay the same file again (every callback redelivered)"; cli replay samples/callbacks.jsonl --workers 4
echo "== balances";                              cli balances
echo "== reconcile";                             cli reconcile
# the runner posts in the site time zone (Africa/Nairobi by default): close that calendar day
echo "== close-day (end of the business day: collections to revenue, shortfalls roll over)"; cli close-day --date "$(TZ=Africa/Nairobi date +%F)"
echo "== close-day again (nothing changes)";     cli close-day --date "$(TZ=Africa/Nairobi date +%F)"
echo "== balances after the close";              cli balances
echo "== reconcile after the close";             cli reconcile
