"""Shared parts of the benchmarks: a throwaway database, a bulk fleet, timed worker processes, tables.

Every benchmark creates its own database ``tuktuk_bench_<pid>_<hex>`` on the server of
``--db-url`` (default ``mysql://root@127.0.0.1:3306``), builds the app's tables from its DocType
JSON (as the test suite does) and drops the database at the end, whatever happens.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import platform
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from tuktuk_management.daraja import models
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE

if TYPE_CHECKING:  # imported where used: frappe_http.py runs where mysqlclient may be absent
	from tuktuk_management.standalone.db import DatabaseURL

DEFAULT_SERVER_URL = "mysql://root@127.0.0.1:3306"
PAYBILL = "600966"
CREATED = datetime(2026, 11, 20, 8, 0, 0)
# A target no payment reaches: every payment splits 50/50 and moves both the target and the payable
# account, so each payment writes the heaviest voucher (3 lines) and lost updates show in the cache.
UNREACHABLE_TARGET_KES = 1_000_000_000
PAYMENT_AMOUNT_KES = 100
CONTRIBUTION_KES = 50  # company share of PAYMENT_AMOUNT_KES at 50 %, below the target
WORKER_START_TIMEOUT_S = 60
WORKER_RESULT_TIMEOUT_S = 600
FLEET_INSERT_BATCH_MAX = 500
# Payment receipts by SMS (TukTuk Message rows written with each payment): set by run.py --receipts.
RECEIPTS_ENABLED = False


def server_url(db_url: str | None) -> str:
	"""The server part of a ``mysql://USER[:PW]@HOST:PORT[/ignored]`` URL, without a database."""
	url = (db_url or DEFAULT_SERVER_URL).rstrip("/")
	scheme, _, rest = url.partition("://")
	host_part = rest.split("/", 1)[0]
	return f"{scheme}://{host_part}"


@contextlib.contextmanager
def throwaway_database(db_url: str | None, label: str) -> Iterator[DatabaseURL]:
	"""Create ``tuktuk_bench_<label>_<pid>_<hex>`` with the app's tables; drop it on exit."""
	from tuktuk_management.standalone.db import DatabaseURL, MariaDB
	from tuktuk_management.standalone.schema import create_schema, set_single_value

	name = f"tuktuk_bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
	url = DatabaseURL.parse(f"{server_url(db_url)}/{name}")
	server = MariaDB(url, database="")
	try:
		server.sql(f"create database `{name}` character set utf8mb4 collate utf8mb4_unicode_ci")
		with MariaDB(url) as db:
			create_schema(db)
			set_single_value(db, SETTINGS_DOCTYPE, "mpesa_paybill", PAYBILL)
			if RECEIPTS_ENABLED:
				set_single_value(db, SETTINGS_DOCTYPE, "sms_enabled", 1)
				set_single_value(db, SETTINGS_DOCTYPE, "sms_receipts_enabled", 1)
			db.commit()
		yield url
	finally:
		server.sql(f"drop database if exists `{name}`")
		server.close()


def vehicle_id(number: int) -> str:
	return f"TT{number:05d}"


def driver_id(number: int) -> str:
	return f"D{number:06d}"


def make_fleet(
	url: DatabaseURL, drivers: int, *, daily_target_kes: int = UNREACHABLE_TARGET_KES
) -> list[str]:
	"""Insert ``drivers`` vehicles, each with one Active driver (zero balances); return the accounts.

	Bulk SQL (the rows the fixture loader would write for zero opening balances), so 1,000
	drivers take a fraction of a second.
	"""
	from tuktuk_management.standalone.db import MariaDB

	assert drivers >= 1
	with MariaDB(url) as db:
		for start in range(1, drivers + 1, FLEET_INSERT_BATCH_MAX):
			numbers = range(start, min(drivers, start + FLEET_INSERT_BATCH_MAX - 1) + 1)
			vehicle_rows = ", ".join(
				["(%s, %s, %s, 'Administrator', 'Administrator', %s, %s, 'Active')"] * len(numbers)
			)
			values: list = []
			for number in numbers:
				values += [vehicle_id(number), CREATED, CREATED, vehicle_id(number), vehicle_id(number)]
			db.sql(
				"insert into `tabTukTuk Vehicle` (name, creation, modified, owner, modified_by, tuktuk_id, "
				f"mpesa_account, status) values {vehicle_rows}",
				tuple(values),
			)
			driver_rows = ", ".join(
				[
					"(%s, %s, %s, 'Administrator', 'Administrator', %s, %s, '254700000000', 'Active', %s, %s, 0, %s)"
				]
				* len(numbers)
			)
			values = []
			for number in numbers:
				values += [
					driver_id(number),
					CREATED,
					CREATED,
					f"Driver {number}",
					driver_id(number),
					vehicle_id(number),
					daily_target_kes,
					daily_target_kes,
				]
			db.sql(
				"insert into `tabTukTuk Driver` (name, creation, modified, owner, modified_by, driver_name, "
				"sunny_id, mpesa_number, status, assigned_tuktuk, daily_target, fare_percentage, left_to_target) "
				f"values {driver_rows}",
				tuple(values),
			)
		db.commit()
	return [vehicle_id(number) for number in range(1, drivers + 1)]


def confirmation_body(
	trans_id: str, account: str, amount_kes: int = PAYMENT_AMOUNT_KES, shortcode: str = PAYBILL
) -> str:
	"""A C2B confirmation body in Daraja's documented shape, as JSON text."""
	import json

	return json.dumps(
		models.c2b_body(
			trans_id=trans_id,
			trans_time="20261121121325",
			amount=f"{amount_kes}.00",
			account=account,
			shortcode=shortcode,
			org_account_balance="25.00",
		)
	)


@dataclass
class WorkerResult:
	latencies_s: list[float] = field(default_factory=list)
	statuses: list[str] = field(default_factory=list)
	started_at: float = 0.0
	finished_at: float = 0.0


@dataclass
class RunResult:
	"""Many workers' results merged: throughput over the wall time from the first start to the last end."""

	operations: int
	elapsed_s: float
	latencies_s: list[float]
	statuses: list[str]

	@property
	def per_s(self) -> float:
		return self.operations / self.elapsed_s if self.elapsed_s > 0 else 0.0

	def percentile_ms(self, fraction: float) -> float:
		return percentile(self.latencies_s, fraction) * 1000


def percentile(values: list[float], fraction: float) -> float:
	"""Nearest-rank percentile (``fraction`` in (0, 1]); 0 for an empty list."""
	if not values:
		return 0.0
	ordered = sorted(values)
	rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
	return ordered[rank - 1]


def _worker_main(url, make_handler, items, ready, go, results) -> None:
	handler = make_handler(url)
	result = WorkerResult()
	ready.put(True)
	go.wait(WORKER_START_TIMEOUT_S)
	result.started_at = time.perf_counter()
	for item in items:
		started = time.perf_counter()
		result.statuses.append(handler(item))
		result.latencies_s.append(time.perf_counter() - started)
	result.finished_at = time.perf_counter()
	results.put(result)


def run_workers(
	url: DatabaseURL,
	make_handler: Callable[[DatabaseURL], Callable[[object], str]],
	items_per_worker: list[list],
) -> RunResult:
	"""Run one process per item list; each builds its handler (own connection), waits, then goes.

	``make_handler(url)`` runs inside the worker (module-level function, so it survives fork);
	the handler takes one item and returns a status word. All workers start on one event, so
	connection set-up is not timed. Uses ``fork`` (Linux), as the runner's ``replay`` does.
	"""
	context = multiprocessing.get_context("fork")
	ready, results, go = context.Queue(), context.Queue(), context.Event()
	processes = [
		context.Process(target=_worker_main, args=(url, make_handler, items, ready, go, results))
		for items in items_per_worker
	]
	for process in processes:
		process.start()
	for _ in processes:
		ready.get(timeout=WORKER_START_TIMEOUT_S)
	go.set()
	merged = [results.get(timeout=WORKER_RESULT_TIMEOUT_S) for _ in processes]
	for process in processes:
		process.join(WORKER_START_TIMEOUT_S)
		assert process.exitcode == 0, f"benchmark worker exited with {process.exitcode}"
	return RunResult(
		operations=sum(len(r.statuses) for r in merged),
		elapsed_s=max(r.finished_at for r in merged) - min(r.started_at for r in merged),
		latencies_s=[latency for r in merged for latency in r.latencies_s],
		statuses=[status for r in merged for status in r.statuses],
	)


def deal(items: list, workers: int) -> list[list]:
	"""Round-robin ``items`` over ``workers`` lists (item i goes to worker i mod workers)."""
	return [items[index::workers] for index in range(workers)]


def median(values: list[float]) -> float:
	return statistics.median(values) if values else 0.0


def print_table(title: str, header: list[str], rows: list[list]) -> None:
	"""A plain fixed-width table on stdout."""
	cells = [[str(cell) for cell in header]] + [[_format(cell) for cell in row] for row in rows]
	widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
	print(f"\n{title}")
	for index, row in enumerate(cells):
		print(
			"  "
			+ "  ".join(
				cell.rjust(width) if index else cell.ljust(width)
				for cell, width in zip(row, widths, strict=True)
			)
		)
		if index == 0:
			print("  " + "  ".join("-" * width for width in widths))


def _format(cell: object) -> str:
	if isinstance(cell, float):
		return f"{cell:.2f}" if abs(cell) < 10 else f"{cell:.0f}"
	return str(cell)


def machine() -> dict:
	"""Where the figures came from: CPU count, load average, Python, MariaDB version and durability."""
	info = {
		"cpus": os.cpu_count(),
		"load_average_1m": round(os.getloadavg()[0], 2),
		"python": platform.python_version(),
		"platform": platform.platform(terse=True),
	}
	return info


def server_info(db_url: str | None) -> dict:
	"""MariaDB's version and commit durability (``innodb_flush_log_at_trx_commit``)."""
	from tuktuk_management.standalone.db import DatabaseURL, MariaDB

	with MariaDB(DatabaseURL.parse(f"{server_url(db_url)}/mysql"), database="") as db:
		version = db.sql("select version()")[0][0]
		flush = db.sql("select @@innodb_flush_log_at_trx_commit")[0][0]
	return {"mariadb": version, "innodb_flush_log_at_trx_commit": int(flush)}
