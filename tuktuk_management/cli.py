"""The standalone runner: the ledger core against MariaDB, without a Frappe bench.

    python -m tuktuk_management.cli --db-url mysql://root@127.0.0.1:3306/tuktuk init
    python -m tuktuk_management.cli load samples/fleet.json
    python -m tuktuk_management.cli replay samples/callbacks.jsonl --workers 4
    python -m tuktuk_management.cli balances
    python -m tuktuk_management.cli reconcile      # exit 0 clean, 1 drift, 2 error
    python -m tuktuk_management.cli results b2c_results.jsonl [--timeout]   # B2C result bodies

The URL comes from ``--db-url`` or ``TUKTUK_DB_URL``. ``replay`` handles each line exactly as
the confirmation webhook does after its URL-token check: store the raw body (committed), apply
it with bounded deadlock retry, mark the log, commit.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from tuktuk_management.ledger import c2b, payouts
from tuktuk_management.ledger.callback_log import (
	C2B_CONFIRMATION,
	mark_failed,
	process_logged_confirmation,
	store_callback,
)
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.standalone.db import DatabaseURL, MariaDB

EXIT_CLEAN, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2
WORKERS_MAX = 64
LINE_CHARS_MAX = 65_536
SUMMARY_KEY = {
	c2b.PROCESSED: "applied",
	c2b.DUPLICATE: "duplicates",
	c2b.CONFLICT: "conflicts",
	c2b.UNALLOCATED: "unallocated",
	c2b.INVALID: "invalid",
	"Failed": "errors",
	c2b.PAUSED: "pending",
}
SUMMARY_KEYS = ("received", "applied", "duplicates", "conflicts", "unallocated", "invalid", "errors")


def site_now(timezone: str) -> datetime:
	"""The clock: now in the site time zone, naive (as Frappe's ``now_datetime``)."""
	return datetime.now(ZoneInfo(timezone)).replace(tzinfo=None)


def cmd_init(url: DatabaseURL) -> int:
	from tuktuk_management.standalone.schema import create_schema

	server = MariaDB(url, database="")
	try:
		server.sql(f"drop database if exists `{url.database}`")
		server.sql(f"create database `{url.database}` character set utf8mb4 collate utf8mb4_unicode_ci")
	finally:
		server.close()
	with MariaDB(url) as db:
		create_schema(db)
		db.commit()
	print(json.dumps({"database": url.database, "initialized": True}))
	return EXIT_CLEAN


def cmd_load(url: DatabaseURL, path: str) -> int:
	from tuktuk_management.standalone.fleet import FixtureError, load_fixtures

	with open(path, encoding="utf-8") as handle:
		documents = json.load(handle)
	with MariaDB(url) as db:
		try:
			counts = load_fixtures(db, documents, now=site_now(load_settings(db).site_timezone))
		except FixtureError as exc:
			db.rollback()
			print(json.dumps({"error": str(exc)}), file=sys.stderr)
			return EXIT_ERROR
		db.commit()
	print(json.dumps({"loaded": counts}))
	return EXIT_CLEAN


def handle_confirmation(db: MariaDB, raw_body: str, *, source_ip: str = "replay") -> str:
	"""The webhook's flow after its token check; returns the callback log status."""
	settings = load_settings(db)
	now = site_now(settings.site_timezone)
	log_name = store_callback(
		db, endpoint=C2B_CONFIRMATION, raw_body=raw_body, received_at=now, source_ip=source_ip
	)
	db.commit()
	try:
		outcome = run_with_retry(
			lambda: process_logged_confirmation(db, log_name, raw_body, settings=settings, now=now),
			rollback=db.rollback,
		)
	except Exception as exc:
		db.rollback()
		mark_failed(db, log_name, exc, now=now)
		db.commit()
		return "Failed"
	db.commit()
	return outcome.status


_worker_db: MariaDB | None = None


def _worker_init(url: DatabaseURL) -> None:
	global _worker_db
	_worker_db = MariaDB(url)


def _worker_handle(raw_body: str) -> str:
	assert _worker_db is not None
	return handle_confirmation(_worker_db, raw_body)


def read_callbacks(path: str) -> list[str]:
	"""Non-blank lines of a JSONL file, each cut to LINE_CHARS_MAX characters."""
	with open(path, encoding="utf-8") as handle:
		return [line.strip()[:LINE_CHARS_MAX] for line in handle if line.strip()]


def replay(url: DatabaseURL, bodies: list[str], workers: int = 1) -> dict[str, int]:
	"""Process bodies with ``workers`` processes (each its own connection); return the summary."""
	assert 1 <= workers <= WORKERS_MAX, workers
	if workers == 1:
		_worker_init(url)
		statuses = [_worker_handle(body) for body in bodies]
	else:
		context = multiprocessing.get_context("fork")
		with context.Pool(workers, initializer=_worker_init, initargs=(url,)) as pool:
			statuses = list(pool.imap_unordered(_worker_handle, bodies, chunksize=1))
	counts = Counter(SUMMARY_KEY[status] for status in statuses)
	summary = dict.fromkeys(SUMMARY_KEYS, 0)
	summary["received"] = len(bodies)
	for key, count in counts.items():
		summary[key] = count
	return summary


def cmd_replay(url: DatabaseURL, path: str, workers: int) -> int:
	bodies = read_callbacks(path)
	started = time.perf_counter()
	summary = replay(url, bodies, workers)
	elapsed_s = time.perf_counter() - started
	print(json.dumps(summary))
	elapsed_s = max(elapsed_s, 1e-9)
	print(
		f"replayed {len(bodies)} callbacks with {workers} worker(s) in {elapsed_s:.2f} s: "
		f"{len(bodies) / elapsed_s:.0f} callbacks/s, {summary['applied'] / elapsed_s:.0f} payments applied/s",
		file=sys.stderr,
	)
	return EXIT_CLEAN if summary["errors"] == 0 else EXIT_ERROR


def driver_balances(db: MariaDB) -> list[dict]:
	rows = db.sql(
		"""select name, current_balance, left_to_target, current_deposit_balance, payout_pending
		from `tabTukTuk Driver` order by name"""
	)
	return [
		{
			"driver": name,
			"current_balance": to_kes(balance),
			"left_to_target": to_kes(left),
			"current_deposit_balance": to_kes(deposit),
			"payout_pending": to_kes(pending),
		}
		for name, balance, left, deposit, pending in rows
	]


def handle_result(db: MariaDB, raw_body: str, *, endpoint: str = payouts.B2C_RESULT) -> str:
	"""The B2C result/timeout endpoint's flow after its token check; returns the log status."""
	settings = load_settings(db)
	now = site_now(settings.site_timezone)
	log_name = store_callback(db, endpoint=endpoint, raw_body=raw_body, received_at=now, source_ip="replay")
	db.commit()
	try:
		outcome = run_with_retry(
			lambda: payouts.process_logged_result(
				db, log_name, raw_body, endpoint=endpoint, now=now, settings=settings
			),
			rollback=db.rollback,
		)
	except Exception as exc:
		db.rollback()
		mark_failed(db, log_name, exc, now=now)
		db.commit()
		return "Failed"
	db.commit()
	return outcome.status


def cmd_results(url: DatabaseURL, path: str, *, timeout: bool) -> int:
	"""Deliver B2C result (or, with ``timeout``, queue-timeout) bodies, one per line; print counts
	per callback log status and the payouts per status."""
	endpoint = payouts.B2C_TIMEOUT if timeout else payouts.B2C_RESULT
	with MariaDB(url) as db:
		statuses = Counter(handle_result(db, body, endpoint=endpoint) for body in read_callbacks(path))
		by_status = dict(db.sql("select status, count(*) from `tabTukTuk Payout` group by status"))
	print(json.dumps({"received": sum(statuses.values()), **statuses, "payouts": by_status}))
	return EXIT_CLEAN if not statuses.get("Failed") else EXIT_ERROR


def cmd_balances(url: DatabaseURL) -> int:
	with MariaDB(url) as db:
		print(json.dumps(driver_balances(db), indent=1))
	return EXIT_CLEAN


def cmd_reconcile(url: DatabaseURL) -> int:
	with MariaDB(url) as db:
		report = check_books(db)
	print(json.dumps(report.as_dict(), indent=1))
	return EXIT_CLEAN if report.clean else EXIT_DRIFT


def build_parser() -> argparse.ArgumentParser:
	parser = argparse.ArgumentParser(
		prog="python -m tuktuk_management.cli", description=__doc__.split("\n")[0]
	)
	parser.add_argument(
		"--db-url",
		default=os.environ.get("TUKTUK_DB_URL"),
		help="mysql://USER[:PW]@HOST:PORT/DBNAME (default: $TUKTUK_DB_URL)",
	)
	commands = parser.add_subparsers(dest="command", required=True)
	commands.add_parser("init", help="(re)create the database and its tables from the DocType JSON")
	load = commands.add_parser(
		"load", help="load TukTuk Settings/Vehicle/Driver fixtures (Frappe fixture form)"
	)
	load.add_argument("fixtures")
	replay_parser = commands.add_parser("replay", help="process a JSONL file of C2B confirmation bodies")
	replay_parser.add_argument("callbacks")
	replay_parser.add_argument("--workers", type=int, default=1, help=f"worker processes, 1..{WORKERS_MAX}")
	results = commands.add_parser("results", help="deliver a JSONL file of B2C result bodies (Daraja shape)")
	results.add_argument("results")
	results.add_argument("--timeout", action="store_true", help="the bodies are QueueTimeOutURL calls")
	commands.add_parser("balances", help="print every driver's cached balances as JSON")
	commands.add_parser("reconcile", help="check caches against ledger sums; exit 0 clean, 1 drift, 2 error")
	return parser


def main(argv: list[str] | None = None) -> int:
	args = build_parser().parse_args(argv)
	try:
		if not args.db_url:
			raise ValueError("give --db-url or set TUKTUK_DB_URL")
		url = DatabaseURL.parse(args.db_url)
		if args.command == "init":
			return cmd_init(url)
		if args.command == "load":
			return cmd_load(url, args.fixtures)
		if args.command == "replay":
			if not 1 <= args.workers <= WORKERS_MAX:
				raise ValueError(f"--workers must be between 1 and {WORKERS_MAX}")
			return cmd_replay(url, args.callbacks, args.workers)
		if args.command == "results":
			return cmd_results(url, args.results, timeout=args.timeout)
		if args.command == "balances":
			return cmd_balances(url)
		return cmd_reconcile(url)
	except Exception as exc:  # the runner's boundary: a clear one-line error, exit 2
		print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), file=sys.stderr)
		return EXIT_ERROR


if __name__ == "__main__":
	sys.exit(main())
