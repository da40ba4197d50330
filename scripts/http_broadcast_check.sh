#!/bin/bash
# Desk broadcast end to end (docs/messaging.md, "Broadcast check"): a manager sends a broadcast
# from the TukTuk Message list in headless Chromium; the bench's own background worker runs the
# send job; a local stand-in gateway (scripts/sms_standin_server.py) must receive exactly one
# message per targeted driver and none for the others. Run from this checkout (root or the bench
# owner), after scripts/bench_tests.sh copied it into the bench and scripts/setup_browser.sh:
#     bash scripts/http_broadcast_check.sh BENCH SITE [PORT] [GATEWAY_PORT]
# It points the site's SMS Settings at the stand-in, creates its users and drivers
# (tuktuk_management.tests.broadcast_check), starts `bench serve --port PORT` (default 8000; the
# desk needs its /assets), runs scripts/broadcast_check.mjs (saves
# docs/screenshots/broadcast_dialog.png), runs `bench worker --queue short --burst` (the send job
# the Send button enqueued), runs the send job once more by `bench execute` (what the five-minute
# job does: it must send nothing more), compares what the gateway received with the targeted
# drivers and the TukTuk Message rows, stops what it started and removes its rows. Exit code 1
# on any mismatch.
set -u
BENCH=${1:?usage: http_broadcast_check.sh BENCH SITE [PORT] [GATEWAY_PORT]}
SITE=${2:?usage: http_broadcast_check.sh BENCH SITE [PORT] [GATEWAY_PORT]}
PORT=${3:-8000}
GW_PORT=${4:-8095}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT=${TTK_CHECK_OUT:-/tmp/ttk_broadcast_check}
mkdir -p "$OUT"
chmod 777 "$OUT"
OWNER="$(stat -c %U "$BENCH")"
as_owner() {
	if [ "$(id -un)" = "$OWNER" ]; then (cd "$BENCH" && "$@"); else (cd "$BENCH" && runuser -u "$OWNER" -- env HOME="$(getent passwd "$OWNER" | cut -d: -f6)" PATH="$PATH" "$@"); fi
}
PIDS=()
# Each background process runs in a session of its own (setsid), stopped with its children by
# that session's process group id.
stop() { for pid in "${PIDS[@]}"; do kill -- -"$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done; PIDS=(); }
# Whatever happens, the site gets its settings back and loses the check's rows.
finish() { stop; as_owner bench --site "$SITE" execute tuktuk_management.tests.broadcast_check.teardown > /dev/null 2>&1; }
trap finish EXIT

setsid python3 "$ROOT/scripts/sms_standin_server.py" --port "$GW_PORT" --log "$OUT/gateway.jsonl" &
PIDS+=($!)
as_owner bench --site "$SITE" execute tuktuk_management.tests.broadcast_check.setup \
	--kwargs "{\"gateway_url\": \"http://127.0.0.1:$GW_PORT/version1/messaging\"}" > "$OUT/setup.out" 2> "$OUT/setup.err" \
	|| { cat "$OUT/setup.err"; exit 2; }
tail -1 "$OUT/setup.out" > "$OUT/setup.json"
# bench serve, not gunicorn: the desk needs /assets, which only Frappe's development server serves
setsid bash -c "$(declare -f as_owner); OWNER=$OWNER BENCH=$BENCH; as_owner bench serve --port $PORT --noreload" > "$OUT/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 90); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/method/ping" -H "Host: $SITE" && break; sleep 1; done
: > "$OUT/gateway.jsonl"
NODE_PATH="$ROOT/.browser/node_modules" node "$ROOT/scripts/broadcast_check.mjs" --url "http://$SITE:$PORT" \
	--fixtures "$OUT/setup.json" --out "$ROOT/docs/screenshots" --failure "$OUT/failure.png" > "$OUT/browser.json" 2> "$OUT/browser.err"
BROWSER_RC=$?
cat "$OUT/browser.json" "$OUT/browser.err"
TARGETED=$(python3 -c "import json; print(len(json.load(open('$OUT/setup.json'))['targeted']))")
SENT_BY="worker (bench worker --burst)"
if [ "$BROWSER_RC" = 0 ]; then
	# The site's own worker runs the send job the Send button enqueued (--burst: it stops once the
	# queue is empty).
	as_owner bench worker --queue short --burst > "$OUT/worker.log" 2>&1
	for _ in $(seq 120); do [ "$(wc -l < "$OUT/gateway.jsonl")" -ge "$TARGETED" ] && break; sleep 1; done
	sleep 5  # anything more would arrive now
fi
[ "$(wc -l < "$OUT/gateway.jsonl")" -ge "$TARGETED" ] || SENT_BY="bench execute (the worker sent nothing)"
BY_WORKER=$(wc -l < "$OUT/gateway.jsonl")
as_owner bench --site "$SITE" execute tuktuk_management.tasks.send_messages_job > "$OUT/job.out" 2>&1
as_owner bench --site "$SITE" execute tuktuk_management.tests.broadcast_check.verify > "$OUT/verify.out" 2> "$OUT/verify.err"
tail -1 "$OUT/verify.out" > "$OUT/verify.json"
echo "sent by: $SENT_BY ($BY_WORKER requests before the extra job run); extra job run: $(tail -1 "$OUT/job.out")"
python3 - "$OUT" "$BROWSER_RC" <<'PY'
import collections, json, sys
out, browser_rc = sys.argv[1], int(sys.argv[2])
setup = json.load(open(f"{out}/setup.json"))
browser = json.load(open(f"{out}/browser.json")) if browser_rc == 0 else {}
text = browser.get("broadcast_text")
received = [json.loads(line) for line in open(f"{out}/gateway.jsonl") if line.strip()]
rows = {row["driver"]: row for row in json.load(open(f"{out}/verify.json"))}
per_phone = collections.Counter(r["to"] for r in received)
failures = [] if browser_rc == 0 else ["the browser step failed"]
print(f"{'driver':10} {'targeted':8} {'gateway requests':16} {'message row':12}")
for driver in setup["drivers"]:
	phone = setup["phones"][driver]
	targeted = driver in setup["targeted"]
	count = per_phone.pop(phone, 0)
	row = rows.get(driver, {}).get("status", "-")
	print(f"{driver:10} {str(targeted):8} {count:<16} {row:12}")
	if count != (1 if targeted else 0) or row != ("Sent" if targeted else "-"):
		failures.append(f"{driver}: targeted={targeted}, {count} requests, row {row}")
ours = set(setup["phones"].values())
others = sum(per_phone.values())  # messages of other drivers already Queued on the site, sent by the same job
bad = [
	r for r in received
	if r["to"] in ours and (r["message"] != text or r["api_key"] != setup["api_key"] or r["username"] != "sandbox")
]
if bad:
	failures.append(f"{len(bad)} requests with another text, key or username")
print(f"gateway received {len(received) - others} requests for {len(setup['targeted'])} targeted drivers"
      f" of {len(setup['drivers'])} listed; text {text!r}"
      + (f"; and {others} for other drivers' messages already Queued on the site" if others else ""))
print("FAILED: " + "; ".join(failures) if failures else "broadcast check passed")
sys.exit(1 if failures else 0)
PY
exit
