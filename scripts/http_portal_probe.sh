#!/bin/bash
# Portal isolation probe over HTTP (docs/portal.md): driver A asks for driver B in every way the
# portal and its data calls allow. Run from the bench directory (frappe-bench) as the bench user:
#     bash apps/tuktuk_management/scripts/http_portal_probe.sh SITE [PORT]
# It creates the users, drivers and payments (tuktuk_management.tests.portal_probe), starts
# gunicorn on 127.0.0.1:PORT (default 8000; nothing may listen there), runs
# scripts/http_portal_probe.py (one line per route on stdout, JSON in $TTK_PROBE_OUT/report.json),
# stops gunicorn and removes what it created. Exit code 1 if any answer leaked or a control failed.
set -u
SITE=${1:?usage: http_portal_probe.sh SITE [PORT]}
PORT=${2:-8000}
OUT=${TTK_PROBE_OUT:-/tmp/ttk_portal_probe}
mkdir -p "$OUT"
bench --site "$SITE" execute tuktuk_management.tests.portal_probe.setup > "$OUT/setup.out" 2> "$OUT/setup.err" || { cat "$OUT/setup.err"; exit 2; }
tail -1 "$OUT/setup.out" > "$OUT/setup.json"
(cd sites && exec ../env/bin/python -m gunicorn -b 127.0.0.1:"$PORT" -w 2 -t 120 frappe.app:application > "$OUT/gunicorn.log" 2>&1) &
G=$!
for _ in $(seq 90); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/method/ping" -H "Host: $SITE" && break; sleep 1; done
./env/bin/python apps/tuktuk_management/scripts/http_portal_probe.py --base "http://127.0.0.1:$PORT" --host "$SITE" \
	--setup "$OUT/setup.json" --out "$OUT/report.json"
RC=$?
kill "$G"; wait "$G" 2>/dev/null
bench --site "$SITE" execute tuktuk_management.tests.portal_probe.teardown > /dev/null 2>&1
exit $RC
