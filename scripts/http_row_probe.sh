#!/bin/bash
# Row-rule probe over HTTP (docs/security.md): every read Frappe whitelists, called as driver A for
# driver B's rows. Run from the bench directory (frappe-bench) as the bench user:
#     bash apps/tuktuk_management/scripts/http_row_probe.sh SITE [PORT]
# It creates the users, drivers and payments (tuktuk_management.tests.http_probe), starts gunicorn
# on 127.0.0.1:PORT (default 8000; nothing may listen there), runs scripts/http_row_probe.py
# (table on stdout, JSON report in /tmp/ttk_row_probe.json), stops gunicorn and removes what it
# created. Exit code 1 if any answer leaked something of B's rows.
set -u
SITE=${1:?usage: http_row_probe.sh SITE [PORT]}
PORT=${2:-8000}
OUT=${TTK_PROBE_OUT:-/tmp/ttk_row_probe}
mkdir -p "$OUT"
bench --site "$SITE" execute tuktuk_management.tests.http_probe.setup > "$OUT/setup.out" 2> "$OUT/setup.err" || { cat "$OUT/setup.err"; exit 2; }
tail -1 "$OUT/setup.out" > "$OUT/setup.json"
bench --site "$SITE" execute tuktuk_management.tests.http_probe.read_methods > "$OUT/methods.out" 2> "$OUT/methods.err" || { cat "$OUT/methods.err"; exit 2; }
tail -1 "$OUT/methods.out" > "$OUT/methods.json"
(cd sites && exec ../env/bin/gunicorn -b 127.0.0.1:"$PORT" -w 2 -t 120 frappe.app:application > "$OUT/gunicorn.log" 2>&1) &
G=$!
for _ in $(seq 90); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/method/ping" -H "Host: $SITE" && break; sleep 1; done
./env/bin/python apps/tuktuk_management/scripts/http_row_probe.py --base "http://127.0.0.1:$PORT" --host "$SITE" \
	--setup "$OUT/setup.json" --methods "$OUT/methods.json" --out "$OUT/report.json" \
	--grow-command "bench --site $SITE execute tuktuk_management.tests.http_probe.grow 2>/dev/null"
RC=$?
kill "$G"; wait "$G" 2>/dev/null
bench --site "$SITE" execute tuktuk_management.tests.http_probe.teardown > /dev/null 2>&1
exit $RC
