#!/bin/bash
# Receipts on vs off through Frappe: run from frappe-bench (as the bench user) on a TEST site:
#   bash apps/tuktuk_management/benchmarks/frappe_receipts_bench.sh SITE [PORT] [ROUNDS]
# Like frappe_http_bench.sh (vehicle BENCHV1, driver D999901, gunicorn with 2 workers on loopback),
# but each round loads the C2B confirmation twice, once with TukTuk Settings' SMS and payment
# receipts off and once on (alternating which goes first), each right after Frappe's ping on the
# same workers; it prints per variant the confirmations per second and confirmation / ping (the
# ping of the same moment takes out the drift of a loaded machine), and their on / off ratio per
# round. With receipts on every payment also writes its TukTuk Message row and enqueues the sender
# after commit (no worker runs here; the bench driver's Queued receipts are deleted at the end).
# Leaves the receipt switches as they were.
# Every confirmation is a real 100 KES payment on SITE.
set -u
SITE=${1:?usage: frappe_receipts_bench.sh SITE [PORT] [ROUNDS]}
PORT=${2:-8006}
ROUNDS=${3:-5}
SECONDS_PER_PHASE=${SECONDS_PER_PHASE:-8}
APP=apps/tuktuk_management
OUT=$(mktemp -d)
bench --site "$SITE" execute frappe.client.insert --kwargs '{"doc": {"doctype": "TukTuk Vehicle", "tuktuk_id": "BENCHV1", "mpesa_account": "BENCHV1"}}' >/dev/null 2>&1 || true
bench --site "$SITE" execute frappe.client.insert --kwargs '{"doc": {"doctype": "TukTuk Driver", "driver_name": "Bench Driver", "sunny_id": "D999901", "mpesa_number": "254700000000", "status": "Active", "assigned_tuktuk": "BENCHV1"}}' >/dev/null 2>&1 || true
TOKEN=$(bench --site "$SITE" execute frappe.utils.password.get_decrypted_password --kwargs "{'doctype': 'TukTuk Settings', 'name': 'TukTuk Settings', 'fieldname': 'callback_token', 'raise_exception': False}" 2>/dev/null | tail -1 | tr -d '"')
PAYBILL=$(bench --site "$SITE" execute frappe.db.get_single_value --args '["TukTuk Settings", "mpesa_paybill"]' 2>/dev/null | tail -1 | tr -d '"')
if [ -z "$PAYBILL" ] || [ "$PAYBILL" = "null" ]; then PAYBILL=600966; fi
if [ -z "$TOKEN" ]; then echo "no callback_token in TukTuk Settings on $SITE" >&2; exit 2; fi
WAS=$(bench --site "$SITE" execute frappe.db.get_single_value --args '["TukTuk Settings", "sms_receipts_enabled"]' 2>/dev/null | tail -1)
WAS_SMS=$(bench --site "$SITE" execute frappe.db.get_single_value --args '["TukTuk Settings", "sms_enabled"]' 2>/dev/null | tail -1)
receipts() {
	bench --site "$SITE" execute frappe.db.set_single_value \
		--args "[\"TukTuk Settings\", {\"sms_enabled\": $1, \"sms_receipts_enabled\": $2}]" > /dev/null 2>&1
}
(cd sites && exec ../env/bin/python -m gunicorn -b "127.0.0.1:$PORT" -w 2 -t 120 frappe.app:application > "$OUT/gunicorn.log" 2>&1) &
G=$!
for _ in $(seq 60); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 1; done
RC=0
for round in $(seq "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then order="off on"; else order="on off"; fi
	for variant in $order; do
		if [ "$variant" = on ]; then receipts 1 1; else receipts "${WAS_SMS:-0}" 0; fi
		./env/bin/python "$APP/benchmarks/frappe_http.py" --base-url "http://127.0.0.1:$PORT" --host "$SITE" \
			--token "$TOKEN" --account BENCHV1 --shortcode "$PAYBILL" --seconds "$SECONDS_PER_PHASE" --rounds 1 \
			--concurrency 4 > "$OUT/$round-$variant.txt" 2>&1 || RC=1
	done
done
receipts "${WAS_SMS:-0}" "${WAS:-0}"
# The bench driver's receipts are not for sending: removed, not left Queued for the next worker.
bench --site "$SITE" execute frappe.db.delete --args '["TukTuk Message", {"driver": "D999901", "status": "Queued"}]' > /dev/null 2>&1
kill $G
wait $G 2>/dev/null
./env/bin/python - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
rows = {"off": [], "on": []}
for r in range(1, rounds + 1):
	for variant in rows:
		summary = json.loads(open(f"{out}/{r}-{variant}.txt").read().strip().splitlines()[-1])
		rows[variant].append((summary["confirmation"]["requests_per_s"], summary["ratio_to_ping"], summary["confirmation"]["errors"]))
print(f"{'round':5} {'off conf/s':>10} {'on conf/s':>10} {'off ÷ ping':>10} {'on ÷ ping':>10} {'on/off (conf/s)':>16} {'on/off (÷ ping)':>16}")
per_s, per_ping = [], []
for r in range(rounds):
	off, on = rows["off"][r], rows["on"][r]
	per_s.append(on[0] / off[0]); per_ping.append(on[1] / off[1])
	print(f"{r + 1:5} {off[0]:10.1f} {on[0]:10.1f} {off[1]:10.3f} {on[1]:10.3f} {per_s[-1]:16.3f} {per_ping[-1]:16.3f}")
median = statistics.median
print(f"median {median(x[0] for x in rows['off']):10.1f} {median(x[0] for x in rows['on']):10.1f} "
      f"{median(x[1] for x in rows['off']):10.3f} {median(x[1] for x in rows['on']):10.3f} "
      f"{median(per_s):16.3f} {median(per_ping):16.3f}")
print("errors:", sum(x[2] for v in rows.values() for x in v))
PY
exit $RC
