"""The standalone runner: the ledger core against MariaDB, without a Frappe bench.

    python -m tuktuk_management.cli --db-url mysql://root@127.0.0.1:3306/tuktuk init
    python -m tuktuk_management.cli load samples/fleet.json
    python -m tuktuk_management.cli replay samples/callbacks.jsonl --workers 4
    python -m tuktuk_management.cli balances
    python -m tuktuk_management.cli close-day [--date YYYY-MM-DD]
    python -m tuktuk_management.cli reconcile [--fix] [--driver NAME]   # exit 0 clean, 1 drift, 2 error
    python -m tuktuk_management.cli results b2c_results.jsonl [--timeout]   # B2C result bodies
    python -m tuktuk_management.cli import-statement statement.csv | match | recover   # see standalone/statement.py
    python -m tuktuk_management.cli upgrade-check [--json]   # a database of the original app: exit 0/1/2
    python -m tuktuk_management.cli upgrade                  # upgrade it (docs/upgrade.md)

The URL comes from ``--db-url`` or ``TUKTUK_DB_URL``. ``replay`` and ``results`` handle each
line exactly as the webhooks do after their token check, through the same routine
(:func:`tuktuk_management.ledger.callback_log.receive_logged`): store the raw body (committed),
apply it with bounded deadlock retry, mark the log, commit.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from tuktuk_management.ledger import c2b, payouts, reconcile
from tuktuk_management.ledger.callback_log import (
	C2B_CONFIRMATION,
	Outcome,
	apply_logged,
	process_logged_confirmation,
	receive_logged,
)
from tuktuk_management.ledger.close import DAILY_CLOSE_DOCTYPE, close_day, due_business_date
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.settings import LedgerSettings, load_settings
from tuktuk_management.ledger.split import effective_target_kes
from tuktuk_management.ledger.status import LogStatus
from tuktuk_management.standalone import statement as statement_commands
from tuktuk_management.standalone import upgrade
from tuktuk_management.standalone.db import DatabaseURL, MariaDB

EXIT_CLEAN, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2
RUNNER_USER = "runner"
WORKERS_MAX = 64
LINE_CHARS_MAX = 65_536
SUMMARY_KEY = {
	LogStatus.PROCESSED: "applied",
	LogStatus.DUPLICATE: "duplicates",
	LogStatus.CONFLICT: "conflicts",
	LogStatus.UNALLOCATED: "unallocated",
	LogStatus.INVALID: "invalid",
	LogStatus.FAILED: "errors",
	LogStatus.RECEIVED: "pending",
}
SUMMARY_KEYS = ("received", "applied", "duplicates", "conflicts", "unallocated", "invalid", "errors")


def site_now(timezone: str) -> datetime:
	"""The clock: now in the site time zone, naive (as Frappe's ``now_datetime``).

	``TUKTUK_NOW`` (ISO date-time, site time zone, e.g. ``2026-12-01T09:30:00``) fixes the clock
	for one invocation, so a replay of several business days can run in minutes: every posting,
	payout and close of that invocation is stamped with that moment.
	"""
	fixed = os.environ.get("TUKTUK_NOW")
	if fixed:
		return datetime.fromisoformat(fixed).replace(tzinfo=None)
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
	return _receive(
		db,
		C2B_CONFIRMATION,
		raw_body,
		source_ip,
		lambda log, settings, now: process_logged_confirmation(db, log, raw_body, settings=settings, now=now),
	)


def _receive(
	db: MariaDB,
	endpoint: str,
	raw_body: str,
	source_ip: str,
	process: Callable[[str, LedgerSettings, datetime], Outcome],
) -> str:
	"""Store, commit and apply one body with ``process(log, settings, now)``; the log status."""
	settings = load_settings(db)
	now = site_now(settings.site_timezone)
	return receive_logged(
		db,
		endpoint=endpoint,
		raw_body=raw_body,
		received_at=now,
		source_ip=source_ip,
		apply=lambda log: apply_logged(db, log, lambda: process(log, settings, now), now=now),
	).status


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
	"""Every driver's cached balances (whole KES), ``target_today`` (base + rollover) and misses."""
	global_target_kes = load_settings(db).global_daily_target_kes
	rows = db.sql(
		"""select name, current_balance, left_to_target, current_deposit_balance, payout_pending,
			daily_target, target_rollover, consecutive_misses, last_close_date
		from `tabTukTuk Driver` order by name"""
	)
	return [
		{
			"driver": name,
			"current_balance": to_kes(balance),
			"left_to_target": to_kes(left),
			"current_deposit_balance": to_kes(deposit),
			"payout_pending": to_kes(pending),
			"target_today": effective_target_kes(to_kes(target), global_target_kes, to_kes(rollover)),
			"target_rollover": to_kes(rollover),
			"consecutive_misses": int(misses or 0),
			"last_close_date": last_close.isoformat() if last_close else None,
		}
		for name, balance, left, deposit, pending, target, rollover, misses, last_close in rows
	]


def handle_result(db: MariaDB, raw_body: str, *, endpoint: str = payouts.B2C_RESULT) -> str:
	"""The B2C result/timeout endpoint's flow after its token check; returns the log status."""
	return _receive(
		db,
		endpoint,
		raw_body,
		"replay",
		lambda log, settings, now: payouts.process_logged_result(
			db, log, raw_body, endpoint=endpoint, now=now, settings=settings
		),
	)


def cmd_results(url: DatabaseURL, path: str, *, timeout: bool) -> int:
	"""Deliver B2C result (or, with ``timeout``, queue-timeout) bodies, one per line; print counts
	per callback log status and the payouts per status."""
	endpoint = payouts.B2C_TIMEOUT if timeout else payouts.B2C_RESULT
	with MariaDB(url) as db:
		statuses = Counter(handle_result(db, body, endpoint=endpoint) for body in read_callbacks(path))
		by_status = dict(db.sql("select status, count(*) from `tabTukTuk Payout` group by status"))
	print(json.dumps({"received": sum(statuses.values()), **statuses, "payouts": by_status}))
	return EXIT_CLEAN if not statuses.get(LogStatus.FAILED) else EXIT_ERROR


def cmd_balances(url: DatabaseURL) -> int:
	with MariaDB(url) as db:
		print(json.dumps(driver_balances(db), indent=1))
	return EXIT_CLEAN


def close_business_day(db: MariaDB, business_date: date | None = None) -> dict:
	"""Close every due driver for ``business_date`` (default: the latest date whose close time has
	passed, site time zone), one committed unit of work per driver, in chunks; the summary."""
	settings = load_settings(db)
	db.rollback()
	business_date = business_date or due_business_date(
		site_now(settings.site_timezone), settings.daily_close_time
	)
	total: dict = {}
	after = ""
	while True:
		chunk = close_day(
			db,
			business_date,
			settings=settings,
			clock=lambda: site_now(settings.site_timezone),
			commit=db.commit,
			rollback=db.rollback,
			after=after,
			user=RUNNER_USER,
		).as_dict()
		for key, value in chunk.items():
			if isinstance(value, int) and not isinstance(value, bool):
				total[key] = total.get(key, 0) + value
			elif isinstance(value, list):
				total.setdefault(key, []).extend(value)
		after = chunk["last_driver"]
		if chunk["done"]:
			break
	total["business_date"] = business_date.isoformat()
	# Drivers with a TukTuk Daily Close for the date (this run's and earlier runs'): a repeated
	# close shows drivers_closed 0 and closed_for_date unchanged.
	total["closed_for_date"] = int(
		db.sql(f"select count(*) from `tab{DAILY_CLOSE_DOCTYPE}` where business_date = %s", (business_date,))[
			0
		][0]
	)
	db.rollback()
	total.pop("last_driver", None)
	return total


def cmd_close_day(url: DatabaseURL, business_date: date | None) -> int:
	with MariaDB(url) as db:
		summary = close_business_day(db, business_date)
	print(json.dumps(summary, indent=1))
	return EXIT_ERROR if summary.get("errors") else EXIT_CLEAN


def reconcile_books(db: MariaDB, *, fix: bool = False, driver: str | None = None) -> reconcile.RunResult:
	"""Check (and with ``fix`` repair) the books and record the run; commits. A failing check is
	rolled back and recorded as an Error run."""
	settings = load_settings(db)
	clock = lambda: site_now(settings.site_timezone)  # noqa: E731
	started_at = clock()
	try:
		result = reconcile.run_reconciliation(
			db, settings=settings, clock=clock, triggered_by=RUNNER_USER, fix=fix, driver=driver
		)
	except Exception as exc:
		db.rollback()
		result = reconcile.record_error_run(
			db,
			error=f"{type(exc).__name__}: {exc}",
			clock=clock,
			triggered_by=RUNNER_USER,
			fix=fix,
			started_at=started_at,
		)
	db.commit()
	return result


def cmd_reconcile(url: DatabaseURL, *, fix: bool, driver: str | None) -> int:
	with MariaDB(url) as db:
		result = reconcile_books(db, fix=fix, driver=driver)
	print(json.dumps(result.as_dict(), indent=1, default=str))
	return result.exit_code


def parse_date(value: str) -> date:
	try:
		return date.fromisoformat(value)
	except ValueError as exc:
		raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {value!r}") from exc


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
	close = commands.add_parser(
		"close-day", help="daily close of every due driver (idempotent per driver and date); JSON summary"
	)
	close.add_argument(
		"--date", type=parse_date, default=None, help="business date YYYY-MM-DD (default: the latest due)"
	)
	reconcile_parser = commands.add_parser(
		"reconcile", help="check caches against ledger sums; exit 0 clean, 1 drift (even if fixed), 2 error"
	)
	reconcile_parser.add_argument(
		"--fix", action="store_true", help="set drifted caches to their ledger sums (recorded)"
	)
	reconcile_parser.add_argument("--driver", default=None, help="check only this driver's caches")
	statement_commands.add_parsers(commands)
	upgrade.add_commands(commands)
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
		if args.command == "close-day":
			return cmd_close_day(url, args.date)
		if args.command in statement_commands.COMMANDS:
			return statement_commands.run(url, args)
		upgraded = upgrade.run(url, args)
		if upgraded is not None:
			return upgraded
		return cmd_reconcile(url, fix=args.fix, driver=args.driver)
	except Exception as exc:  # the runner's boundary: a clear one-line error, exit 2
		print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), file=sys.stderr)
		return EXIT_ERROR


if __name__ == "__main__":
	sys.exit(main())
