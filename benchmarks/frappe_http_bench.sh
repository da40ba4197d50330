#!/bin/bash
# Through-Frappe benchmark: run from frappe-bench (as the bench user) on a TEST site with this app:
#   bash apps/tuktuk_management/benchmarks/frappe_http_bench.sh SITE [PORT]
# Creates (once) vehicle BENCHV1 with Active driver D999901 on SITE, reads the site's callback token,
# starts gunicorn (2 workers, loopback, PORT default 8006), runs benchmarks/frappe_http.py
# (ping vs C2B confirmation, $ROUNDS rounds of $SECONDS_PER_PHASE s), stops gunicorn.
# Every confirmation is a real 100 KES payment on SITE.
set -u
SITE=${1:?usage: frappe_http_bench.sh SITE [PORT]}
PORT=${2:-8006}
SECONDS_PER_PHASE=${SECONDS_PER_PHASE:-8}
ROUNDS=${ROUNDS:-3}
APP=apps/tuktuk_management
bench --site "$SITE" execute frappe.client.insert --kwargs '{"doc": {"doctype": "TukTuk Vehicle", "tuktuk_id": "BENCHV1", "mpesa_account": "BENCHV1"}}' >/dev/null 2>&1 || true
bench --site "$SITE" execute frappe.client.insert --kwargs '{"doc": {"doctype": "TukTuk Driver", "driver_name": "Bench Driver", "sunny_id": "D999901", "mpesa_number": "254700000000", "status": "Active", "assigned_tuktuk": "BENCHV1"}}' >/dev/null 2>&1 || true
TOKEN=$(bench --site "$SITE" execute frappe.utils.password.get_decrypted_password --kwargs "{'doctype': 'TukTuk Settings', 'name': 'TukTuk Settings', 'fieldname': 'callback_token', 'raise_exception': False}" 2>/dev/null | tail -1 | tr -d '"')
PAYBILL=$(bench --site "$SITE" execute frappe.db.get_single_value --args '["TukTuk Settings", "mpesa_paybill"]' 2>/dev/null | tail -1 | tr -d '"')
if [ -z "$PAYBILL" ] || [ "$PAYBILL" = "null" ]; then PAYBILL=600966; fi
if [ -z "$TOKEN" ]; then echo "no callback_token in TukTuk Settings on $SITE" >&2; exit 2; fi
cd sites
../env/bin/gunicorn -b "127.0.0.1:$PORT" -w 2 -t 120 frappe.app:application > "/tmp/gunicorn-$SITE.log" 2>&1 &
G=$!
for _ in $(seq 60); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 1; done
../env/bin/python "../$APP/benchmarks/frappe_http.py" --base-url "http://127.0.0.1:$PORT" --host "$SITE" \
	--token "$TOKEN" --account BENCHV1 --shortcode "$PAYBILL" --seconds "$SECONDS_PER_PHASE" --rounds "$ROUNDS" --concurrency 4
RC=$?
kill $G
wait $G 2>/dev/null
exit $RC
