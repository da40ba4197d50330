#!/bin/bash
# Receipts end to end (docs/messaging.md, "Receipts check"): payments posted to the C2B webhook
# over HTTP while the site's worker runs; the stand-in gateway (scripts/sms_standin_server.py)
# must receive exactly one receipt per payment, soon after it, without the five-minute job (the
# payment path enqueues the sender at most once a second per process; the sender lingers).
# Run from this checkout (root or the bench owner) after scripts/bench_tests.sh copied it in, on
# a TEST site whose `short` queue is empty (receipts would wait behind older jobs):
#     bash scripts/http_receipts_check.sh BENCH SITE [PORT] [GATEWAY_PORT] [PAYMENTS]
# It creates its drivers (tuktuk_management.tests.receipts_check: receipts on, instant payouts off
# while it runs), starts gunicorn on 127.0.0.1:PORT and `bench worker --queue short`, posts
# PAYMENTS (default 60) confirmations to two drivers' vehicles (all but 10 from 4 threads at
# once, then 10 one at a time 0.3 s apart, so that most land inside a throttled second), waits up to 60 s,
# stops what it started, compares, and removes its rows. Exit code 1 on any mismatch.
set -u
BENCH=${1:?usage: http_receipts_check.sh BENCH SITE [PORT] [GATEWAY_PORT] [PAYMENTS]}
SITE=${2:?usage: http_receipts_check.sh BENCH SITE [PORT] [GATEWAY_PORT] [PAYMENTS]}
PORT=${3:-8000}
GW_PORT=${4:-8095}
PAYMENTS=${5:-60}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT=${TTK_CHECK_OUT:-/tmp/ttk_receipts_check}
mkdir -p "$OUT" && chmod 777 "$OUT"
OWNER="$(stat -c %U "$BENCH")"
as_owner() {
	if [ "$(id -un)" = "$OWNER" ]; then (cd "$BENCH" && "$@"); else (cd "$BENCH" && runuser -u "$OWNER" -- env HOME="$(getent passwd "$OWNER" | cut -d: -f6)" PATH="$PATH" "$@"); fi
}
# Long-running processes are stopped with their descendants (subshell -> runuser -> bench ->
# python and its forks), each by its id.
STARTED=()
descendants() { local p; for p in $(ps -e -o pid=,ppid= | awk -v parent="$1" '$2 == parent {print $1}'); do descendants "$p"; echo "$p"; done; }
stop() {
	local pid
	for pid in "${STARTED[@]}"; do kill $(descendants "$pid") "$pid" 2>/dev/null; done
	STARTED=()
	sleep 1
}
# Whatever happens, the site gets its settings back and loses the check's rows.
finish() { stop; as_owner bench --site "$SITE" execute tuktuk_management.tests.receipts_check.teardown > /dev/null 2>&1; }
trap finish EXIT

python3 "$ROOT/scripts/sms_standin_server.py" --port "$GW_PORT" --log "$OUT/gateway.jsonl" &
STARTED+=($!)
as_owner bench --site "$SITE" execute tuktuk_management.tests.receipts_check.setup \
	--kwargs "{\"gateway_url\": \"http://127.0.0.1:$GW_PORT/version1/messaging\"}" > "$OUT/setup.out" 2> "$OUT/setup.err" \
	|| { cat "$OUT/setup.err"; exit 2; }
tail -1 "$OUT/setup.out" > "$OUT/setup.json"
as_owner sh -c 'cd sites && exec ../env/bin/python -m gunicorn -b 127.0.0.1:"$0" -w 2 -t 120 frappe.app:application' \
	"$PORT" > "$OUT/gunicorn.log" 2>&1 &
STARTED+=($!)
as_owner bench worker --queue short > "$OUT/worker.log" 2>&1 &
STARTED+=($!)
for _ in $(seq 90); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/method/ping" -H "Host: $SITE" && break; sleep 1; done
sleep 3  # the worker connects to Redis
: > "$OUT/gateway.jsonl"
"$BENCH/env/bin/python" - "$OUT" "$PORT" "$SITE" "$PAYMENTS" <<'PY'
import concurrent.futures, json, secrets, sys, time
import requests
out, port, site, payments = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
setup = json.load(open(f"{out}/setup.json"))
drivers = sorted(setup["drivers"].items())
tag = "RC" + secrets.token_hex(2).upper()
TRICKLE = min(10, payments)

def pay(index):
	driver, facts = drivers[index % len(drivers)]
	trans_id = f"{tag}{index:06d}"
	body = {
		"TransactionType": "Pay Bill", "TransID": trans_id, "TransTime": time.strftime("%Y%m%d%H%M%S"),
		"TransAmount": "100.00", "BusinessShortCode": setup["paybill"], "BillRefNumber": facts["account"],
		"InvoiceNumber": "", "OrgAccountBalance": "25.00", "ThirdPartyTransID": "", "MSISDN": "254700000000",
		"FirstName": "RECEIPTS", "MiddleName": "", "LastName": "CHECK",
	}
	reply = requests.post(
		f"http://127.0.0.1:{port}/api/method/tuktuk_management.api.c2b.confirmation",
		params={"token": setup["token"]}, json=body, headers={"Host": site}, timeout=60,
	)
	return trans_id, driver, reply.status_code, time.time()

started = time.time()
burst = payments - TRICKLE
with concurrent.futures.ThreadPoolExecutor(4) as pool:
	posted = list(pool.map(pay, range(burst)))
for index in range(burst, payments):  # then one at a time: each lands inside a throttled second
	posted.append(pay(index))
	time.sleep(0.3)
json.dump({"posted": posted, "started": started, "finished": time.time()}, open(f"{out}/posted.json", "w"))
print(f"posted {payments} payments in {time.time() - started:.1f} s; HTTP statuses {sorted({p[2] for p in posted})}")
PY
for _ in $(seq 60); do [ "$(wc -l < "$OUT/gateway.jsonl")" -ge "$PAYMENTS" ] && break; sleep 1; done
sleep 4  # anything more would arrive now
LAST=$(date +%s.%N)
as_owner bench --site "$SITE" execute tuktuk_management.tests.receipts_check.verify > "$OUT/verify.out" 2> "$OUT/verify.err"
tail -1 "$OUT/verify.out" > "$OUT/verify.json"
python3 - "$OUT" <<'PY'
import collections, json, os, sys
out = sys.argv[1]
setup = json.load(open(f"{out}/setup.json"))
posted = json.load(open(f"{out}/posted.json"))
received = [json.loads(line) for line in open(f"{out}/gateway.jsonl") if line.strip()]
rows = json.load(open(f"{out}/verify.json"))
failures = []
if any(p[2] != 200 for p in posted["posted"]):
	failures.append("a confirmation was not answered 200")
by_trans = collections.Counter()
for r in received:
	trans_id = r["message"].split("(")[1].split(")")[0] if "(" in r["message"] else "?"
	by_trans[trans_id] += 1
expected = {p[0]: setup["drivers"][p[1]]["phone"] for p in posted["posted"]}
phones = {r["message"].split("(")[1].split(")")[0]: r["to"] for r in received if "(" in r["message"]}
missing = sorted(t for t in expected if by_trans[t] == 0)
twice = sorted(t for t, n in by_trans.items() if n > 1)
stray = sorted(t for t in by_trans if t not in expected)
others = sum(by_trans[t] for t in stray)  # other drivers' messages already Queued on the site
wrong_phone = sorted(t for t in expected if t in phones and phones[t] != expected[t])
statuses = collections.Counter(row["status"] for row in rows)
for label, items in (("missing", missing), ("sent twice", twice), ("wrong phone", wrong_phone)):
	if items:
		failures.append(f"{label}: {items[:5]} ({len(items)})")
if statuses != {"Sent": len(expected)}:
	failures.append(f"receipt rows {dict(statuses)}")
mtime = os.path.getmtime(f"{out}/gateway.jsonl")
print(f"{len(expected)} payments, {len(received) - others} receipts at the gateway, receipt rows {dict(statuses)}; "
      f"last receipt {mtime - posted['finished']:.1f} s after the last payment"
      + (f"; and {others} other messages already Queued on the site" if others else ""))
print("FAILED: " + "; ".join(failures) if failures else "receipts check passed")
sys.exit(1 if failures else 0)
PY
exit
