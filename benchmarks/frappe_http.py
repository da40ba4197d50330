"""The C2B confirmation endpoint under load through Frappe, next to Frappe's own ``ping``.

Not part of ``run.py`` or CI: it needs a running site. Start gunicorn with 2 workers on loopback
(from ``frappe-bench/sites``)::

    ../env/bin/gunicorn -b 127.0.0.1:8006 -w 2 -t 120 frappe.app:application --preload

then, with the site's callback token (TukTuk Settings) and the account number of a vehicle that
has an Active driver::

    python benchmarks/frappe_http.py --base-url http://127.0.0.1:8006 --host SITE \\
        --token TOKEN --account TT00001 [--seconds 10] [--concurrency 4] [--rounds 3]

Each round loads ``GET /api/method/ping`` and then ``POST
/api/method/tuktuk_management.api.c2b.confirmation?token=...`` (a Daraja confirmation body with a
fresh TransID each time, 100 KES) for ``--seconds`` each, from ``--concurrency`` client processes
(a new connection per request, as Daraja makes). Prints a table and, as its last line, JSON:
``{"ping": {"requests_per_s", "p50_ms", "p99_ms", "errors"}, "confirmation": {...},
"ratio_to_ping": median of the per-round ratios}``. Every confirmation is a real payment: the
driver's balance moves.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import secrets
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
	sys.path.insert(0, str(ROOT))

from benchmarks import common  # after the path fix-up above

PING_PATH = "/api/method/ping"
CONFIRMATION_PATH = "/api/method/tuktuk_management.api.c2b.confirmation"
REQUEST_TIMEOUT_S = 30
SECONDS_MAX = 600
CONCURRENCY_MAX = 64


def _client(kind, base_url, host, token, account, shortcode, seconds, tag, go, results) -> None:
	parsed = urlparse(base_url)
	path = PING_PATH if kind == "ping" else f"{CONFIRMATION_PATH}?{urlencode({'token': token})}"
	latencies, errors, counter = [], 0, 0
	go.wait(60)
	deadline = time.perf_counter() + seconds
	started = time.perf_counter()
	while time.perf_counter() < deadline:
		counter += 1
		headers = {"Host": host, "Connection": "close"}
		body = None
		if kind == "confirmation":
			body = common.confirmation_body(f"{tag}{counter:07d}", account, shortcode=shortcode).encode()
			headers["Content-Type"] = "application/json"
		request_started = time.perf_counter()
		try:
			connection = http.client.HTTPConnection(
				parsed.hostname, parsed.port or 80, timeout=REQUEST_TIMEOUT_S
			)
			connection.request("POST" if body else "GET", path, body=body, headers=headers)
			response = connection.getresponse()
			payload = response.read()
			connection.close()
			ok = response.status == 200 and _reply_ok(kind, payload)
		except OSError:
			ok = False
		latencies.append(time.perf_counter() - request_started)
		errors += 0 if ok else 1
	results.put((latencies, errors, time.perf_counter() - started))


def _reply_ok(kind: str, payload: bytes) -> bool:
	try:
		reply = json.loads(payload)
	except ValueError:
		return False
	if kind == "ping":
		return reply.get("message") == "pong"
	return str(reply.get("ResultCode")) == "0"


def load(kind: str, args, tag: str) -> dict:
	"""One phase: ``args.concurrency`` client processes for ``args.seconds``; rps, p50/p99, errors."""
	context = multiprocessing.get_context("fork")
	go, results = context.Event(), context.Queue()
	processes = [
		context.Process(
			target=_client,
			args=(
				kind,
				args.base_url,
				args.host,
				args.token,
				args.account,
				args.shortcode,
				args.seconds,
				f"{tag}{i:02d}",
				go,
				results,
			),
		)
		for i in range(args.concurrency)
	]
	for process in processes:
		process.start()
	go.set()
	merged = [results.get(timeout=args.seconds + 120) for _ in processes]
	for process in processes:
		process.join(30)
	latencies = [latency for part in merged for latency in part[0]]
	elapsed_s = max(part[2] for part in merged)
	return {
		"requests_per_s": len(latencies) / elapsed_s if elapsed_s else 0.0,
		"p50_ms": common.percentile(latencies, 0.5) * 1000,
		"p99_ms": common.percentile(latencies, 0.99) * 1000,
		"errors": sum(part[1] for part in merged),
		"requests": len(latencies),
	}


def main(argv: list[str] | None = None) -> int:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--base-url", default="http://127.0.0.1:8006", help="gunicorn's address")
	parser.add_argument("--host", required=True, help="Host header: the site name")
	parser.add_argument("--token", required=True, help="TukTuk Settings callback_token")
	parser.add_argument("--account", required=True, help="mpesa_account of a vehicle with an Active driver")
	parser.add_argument(
		"--shortcode", default=common.PAYBILL, help="BusinessShortCode (the site's mpesa_paybill, if set)"
	)
	parser.add_argument("--seconds", type=float, default=10, help="length of each phase")
	parser.add_argument("--concurrency", type=int, default=4, help="client processes")
	parser.add_argument("--rounds", type=int, default=3, help="ping + confirmation rounds")
	args = parser.parse_args(argv)
	if (
		not 0 < args.seconds <= SECONDS_MAX
		or not 1 <= args.concurrency <= CONCURRENCY_MAX
		or not 1 <= args.rounds <= 10
	):
		parser.error(
			f"--seconds in (0, {SECONDS_MAX}], --concurrency in 1..{CONCURRENCY_MAX}, --rounds in 1..10"
		)
	run_tag = "H" + secrets.token_hex(3).upper()
	rows, figures = [], {"ping": [], "confirmation": []}
	for round_number in range(args.rounds):
		for kind in ("ping", "confirmation"):
			result = load(kind, args, f"{run_tag}{round_number}")
			figures[kind].append(result)
			rows.append(
				[
					round_number + 1,
					kind,
					result["requests_per_s"],
					result["p50_ms"],
					result["p99_ms"],
					result["errors"],
				]
			)
	ratios = [
		c["requests_per_s"] / p["requests_per_s"] if p["requests_per_s"] else 0.0
		for p, c in zip(figures["ping"], figures["confirmation"], strict=True)
	]
	common.print_table(
		f"Through Frappe ({args.base_url}, Host {args.host}): {args.concurrency} clients, {args.seconds:g} s per phase",
		["round", "endpoint", "requests/s", "p50 ms", "p99 ms", "errors"],
		rows,
	)
	summary = {
		kind: {
			key: round(statistics.median(r[key] for r in results), 2)
			for key in ("requests_per_s", "p50_ms", "p99_ms")
		}
		| {"errors": sum(r["errors"] for r in results), "requests": sum(r["requests"] for r in results)}
		for kind, results in figures.items()
	}
	summary["ratio_to_ping"] = round(statistics.median(ratios), 3)
	summary["ratios"] = [round(ratio, 3) for ratio in ratios]
	summary["concurrency"], summary["seconds"], summary["rounds"] = (
		args.concurrency,
		args.seconds,
		args.rounds,
	)
	summary["machine"] = common.machine()
	print(
		f"  confirmation / ping, median of per-round ratios: {summary['ratio_to_ping']:.2f} ({summary['ratios']})"
	)
	print(json.dumps(summary))
	return 0 if summary["confirmation"]["errors"] == 0 and summary["ping"]["errors"] == 0 else 1


if __name__ == "__main__":
	sys.exit(main())
