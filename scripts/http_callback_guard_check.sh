#!/bin/bash
# The callback guard over HTTP behind a real nginx set up as `bench setup production` does
# (docs/security.md). Run from the bench directory (frappe-bench) as the bench user:
#     bash apps/tuktuk_management/scripts/http_callback_guard_check.sh SITE [GUNICORN_PORT] [NGINX_PORT]
# Loopback addresses stand for the callers: 127.0.0.2 is "Safaricom" (the allowlist), 127.0.0.3 an
# attacker who knows the token and forges X-Forwarded-For. Prints each answer and the rows left;
# restores the settings and removes what it created.
set -u
SITE=${1:?usage: http_callback_guard_check.sh SITE [GUNICORN_PORT] [NGINX_PORT]}
GPORT=${2:-8000}
NPORT=${3:-8080}
FLOOD=${TTK_FLOOD_CALLS:-2000}
GENUINE=${TTK_GENUINE_CALLS:-60}
OUT=${TTK_GUARD_OUT:-/tmp/ttk_guard_check}
SAFARICOM=127.0.0.2
ATTACKER=127.0.0.3
PREFIX=HTTPG$(date +%H%M%S)
mkdir -p "$OUT/nginx/logs"
ex() { bench --site "$SITE" execute "$@" 2>>"$OUT/bench.err" | tail -1; }
SETUP=$(ex tuktuk_management.tests.http_probe.setup)
get() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$SETUP" "$1"; }
TOKEN=$(get 'd["callback_token"]'); ACCOUNT=$(get 'd["accounts"]["driver"]')
PREVIOUS=$(ex tuktuk_management.tests.http_probe.configure_callbacks --kwargs "{'allowed_callback_ips': '$SAFARICOM', 'trusted_proxy_count': 1, 'refused_calls_stored_per_minute': 20}")
SINCE=$(ex frappe.utils.now | tr -d '"')
# bench's production template (bench/config/templates/nginx.conf) proxy headers, on a local port.
cat > "$OUT/nginx/nginx.conf" <<CONF
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/logs/error.log;
events { worker_connections 256; }
http {
	access_log $OUT/nginx/logs/access.log;
	client_body_temp_path $OUT/nginx/body; proxy_temp_path $OUT/nginx/proxy;
	fastcgi_temp_path $OUT/nginx/fcgi; uwsgi_temp_path $OUT/nginx/uwsgi; scgi_temp_path $OUT/nginx/scgi;
	upstream frappe { server 127.0.0.1:$GPORT fail_timeout=0; }
	server {
		listen 127.0.0.1:$NPORT; listen 127.0.0.2:$NPORT; listen 127.0.0.3:$NPORT;
		location / {
			proxy_http_version 1.1;
			proxy_set_header X-Forwarded-For \$remote_addr;
			proxy_set_header X-Forwarded-Proto \$scheme;
			proxy_set_header X-Frappe-Site-Name $SITE;
			proxy_set_header Host $SITE;
			proxy_set_header X-Use-X-Accel-Redirect True;
			proxy_read_timeout 120;
			proxy_redirect off;
			proxy_pass http://frappe;
		}
	}
}
CONF
(cd sites && exec ../env/bin/gunicorn -b 127.0.0.1:"$GPORT" -w 4 -t 120 frappe.app:application > "$OUT/gunicorn.log" 2>&1) &
G=$!
/usr/sbin/nginx -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" -e "$OUT/nginx/logs/error.log"
for _ in $(seq 90); do curl -sf -o /dev/null "http://127.0.0.1:$NPORT/api/method/ping" && break; sleep 1; done
body() { echo "{\"TransactionType\":\"Pay Bill\",\"TransID\":\"$1\",\"TransTime\":\"20261129121325\",\"TransAmount\":\"$2.00\",\"BusinessShortCode\":\"600966\",\"BillRefNumber\":\"$ACCOUNT\",\"InvoiceNumber\":\"\",\"OrgAccountBalance\":\"\",\"ThirdPartyTransID\":\"\",\"MSISDN\":\"2547 ***** 126\",\"FirstName\":\"X\",\"MiddleName\":\"\",\"LastName\":\"\"}"; }
URL="http://127.0.0.1:$NPORT/api/method/tuktuk_management.api.c2b.confirmation?token=$TOKEN"
post() { curl -s -o "$OUT/last.txt" -w '%{http_code}' -H 'Content-Type: application/json' "$@"; }
echo "== through nginx (X-Forwarded-For \$remote_addr), trusted_proxy_count=1, allowlist $SAFARICOM"
echo "  genuine from $SAFARICOM:                               $(post --interface $SAFARICOM -X POST "${URL/127.0.0.1/$SAFARICOM}" -d "$(body ${PREFIX}A1 100)") $(cat "$OUT/last.txt")"
echo "  attacker from $ATTACKER, X-Forwarded-For: $SAFARICOM:  $(post --interface $ATTACKER -H "X-Forwarded-For: $SAFARICOM" -X POST "${URL/127.0.0.1/$ATTACKER}" -d "$(body FORGED1 100)") $(cat "$OUT/last.txt")"
echo "  attacker, X-Forwarded-For: $SAFARICOM, $SAFARICOM:      $(post --interface $ATTACKER -H "X-Forwarded-For: $SAFARICOM, $SAFARICOM" -X POST "${URL/127.0.0.1/$ATTACKER}" -d "$(body FORGED2 100)")"
echo "  attacker, wrong token:                                 $(post --interface $ATTACKER -X POST "${URL/127.0.0.1/$ATTACKER}&token=x" -d "$(body FORGED3 100)")"
DIRECT="http://127.0.0.1:$GPORT/api/method/tuktuk_management.api.c2b.confirmation?token=$TOKEN"
ex tuktuk_management.tests.http_probe.configure_callbacks --kwargs "{'allowed_callback_ips': '$SAFARICOM', 'trusted_proxy_count': 0, 'refused_calls_stored_per_minute': 20}" > /dev/null
echo "== straight to gunicorn, trusted_proxy_count=0 (the connection's address)"
echo "  attacker from $ATTACKER, X-Forwarded-For: $SAFARICOM:  $(post --interface $ATTACKER -H "Host: $SITE" -H "X-Forwarded-For: $SAFARICOM" -X POST "$DIRECT" -d "$(body FORGED4 100)")"
echo "  genuine from $SAFARICOM:                               $(post --interface $SAFARICOM -H "Host: $SITE" -X POST "$DIRECT" -d "$(body ${PREFIX}A2 100)")"
ex tuktuk_management.tests.http_probe.configure_callbacks --kwargs "{'allowed_callback_ips': '$SAFARICOM', 'trusted_proxy_count': 1, 'refused_calls_stored_per_minute': 20}" > /dev/null
echo "  (trusted_proxy_count=1 while gunicorn is reached without the proxy: the forged header is believed -> $(post --interface $ATTACKER -H "Host: $SITE" -H "X-Forwarded-For: $SAFARICOM" -X POST "$DIRECT" -d "$(body ${PREFIX}F5 100)"); hence gunicorn listens on 127.0.0.1 only, as bench's supervisor config does)"
echo "== flood: $FLOOD forged calls from $ATTACKER (6 at a time) while $GENUINE genuine ones from $SAFARICOM (2 at a time)"
START=$(date +%s.%N)
seq 1 "$FLOOD" | xargs -P 6 -I{} curl -s -o /dev/null -w '%{http_code}\n' --interface $ATTACKER -H "X-Forwarded-For: $SAFARICOM" -H 'Content-Type: application/json' -X POST "${URL/127.0.0.1/$ATTACKER}" -d "$(body FORGEDFLOOD 100)" > "$OUT/flood_codes.txt" &
F=$!
mkdir -p "$OUT/genuine"
for i in $(seq 1 "$GENUINE"); do body "${PREFIX}G$i" $((100 + i)) > "$OUT/genuine/$i.json"; done
seq 1 "$GENUINE" | xargs -P 2 -I{} curl -s -o /dev/null -w '%{http_code}\n' --interface $SAFARICOM -H 'Content-Type: application/json' -X POST "${URL/127.0.0.1/$SAFARICOM}" -d @"$OUT/genuine/{}.json" > "$OUT/genuine_codes.txt"
wait $F
echo "  took $(python3 -c "import time; print(round(time.time() - $START, 1))") s; flood answers: $(sort "$OUT/flood_codes.txt" | uniq -c | tr '\n' ' '); genuine answers: $(sort "$OUT/genuine_codes.txt" | uniq -c | tr '\n' ' ')"
echo "== rows left"
ex tuktuk_management.tests.http_probe.guard_counts --kwargs "{'since': '$SINCE', 'attacker': '$ATTACKER', 'trans_id_prefix': '$PREFIX'}"
/usr/sbin/nginx -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" -s stop
kill "$G"; wait "$G" 2>/dev/null
ex tuktuk_management.tests.http_probe.delete_guard_rows --kwargs "{'since': '$SINCE', 'attacker': '$ATTACKER', 'trans_id_prefix': '$PREFIX'}" > /dev/null
ex tuktuk_management.tests.http_probe.restore_callbacks --kwargs "{'previous': '''$PREVIOUS'''}" > /dev/null
ex tuktuk_management.tests.http_probe.teardown > /dev/null
echo done
