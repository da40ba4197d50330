"""Benchmark of the desk's read queries (ledger/figures.py, ledger/statement.py) on a generated fleet.

    python -m benchmarks.bench_desk                 # 50 drivers x 30 days x 8 payments (12,000)
    python -m benchmarks.bench_desk --quick         # 10 drivers x 30 days x 4 payments (1,200)

Builds a throwaway MariaDB database (server from TUKTUK_TEST_DB_URL, default
mysql://root@127.0.0.1:3306), loads the fleet and posts every payment through the ledger core
(``process_confirmation``, one commit per payment, dated across the days), then runs each desk
query ``--repeat`` times and prints the median and worst time in milliseconds as JSON lines.
The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import time
from datetime import date, datetime, timedelta

from tuktuk_management.daraja import models
from tuktuk_management.ledger import c2b, figures
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.statement import driver_statement
from tuktuk_management.standalone.db import DatabaseURL, MariaDB
from tuktuk_management.standalone.fleet import load_fixtures
from tuktuk_management.standalone.schema import create_schema

PAYBILL = "600966"
LAST_DAY = date(2026, 11, 21)
AMOUNTS_KES = (50, 100, 150, 200, 250, 300, 500, 1000)


def fleet(drivers: int) -> list[dict]:
	docs: list[dict] = [
		{
			"doctype": "TukTuk Settings",
			"name": "TukTuk Settings",
			"global_daily_target": 3000,
			"global_fare_percentage": 50,
			"mpesa_paybill": PAYBILL,
		}
	]
	for number in range(1, drivers + 1):
		vehicle = f"TT{number:04d}"
		docs.append(
			{"doctype": "TukTuk Vehicle", "name": vehicle, "tuktuk_id": vehicle, "mpesa_account": vehicle}
		)
		docs.append(
			{
				"doctype": "TukTuk Driver",
				"name": f"D{number:06d}",
				"driver_name": f"Driver {number}",
				"sunny_id": f"D{number:06d}",
				"mpesa_number": "254700000000",
				"status": "Active",
				"assigned_tuktuk": vehicle,
			}
		)
	return docs


def populate(db: MariaDB, drivers: int, days: int, per_day: int, rng: random.Random) -> int:
	load_fixtures(db, fleet(drivers), now=datetime(2026, 10, 1, 6, 0))
	db.commit()
	settings = load_settings(db)
	count = 0
	for offset in range(days - 1, -1, -1):
		day = LAST_DAY - timedelta(days=offset)
		for slot in range(per_day):
			for number in range(1, drivers + 1):
				when = datetime.combine(day, datetime.min.time()) + timedelta(
					hours=6, minutes=slot * 90 + number % 60
				)
				account = f"TT{number:04d}" if rng.random() > 0.02 else "UNKNOWN"
				body = models.c2b_body(
					trans_id=f"BD{count:08d}",
					trans_time=when.strftime("%Y%m%d%H%M%S"),
					amount=f"{rng.choice(AMOUNTS_KES)}.00",
					account=account,
					shortcode=PAYBILL,
					org_account_balance="0.00",
				)
				c2b.process_confirmation(db, body, settings=settings, now=when)
				db.commit()
				count += 1
	return count


def timed(repeat: int, function) -> dict:
	samples_ms = []
	for _ in range(repeat):
		start = time.perf_counter()
		function()
		samples_ms.append((time.perf_counter() - start) * 1000)
	return {"median_ms": round(statistics.median(samples_ms), 2), "max_ms": round(max(samples_ms), 2)}


def main(argv: list[str] | None = None) -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--drivers", type=int, default=50)
	parser.add_argument("--days", type=int, default=30)
	parser.add_argument("--per-day", type=int, default=8, help="payments per driver per day")
	parser.add_argument("--repeat", type=int, default=20)
	parser.add_argument("--quick", action="store_true")
	args = parser.parse_args(argv)
	if args.quick:
		args.drivers, args.per_day = 10, 4
	assert 1 <= args.drivers <= 2000 and 1 <= args.days <= 365 and 1 <= args.per_day <= 100
	server_url = os.environ.get("TUKTUK_TEST_DB_URL", "mysql://root@127.0.0.1:3306").rstrip("/")
	name = f"tuktuk_bench_desk_{secrets.token_hex(3)}"
	url = DatabaseURL.parse(f"{server_url}/{name}")
	server = MariaDB(url, database="")
	server.sql(f"create database `{name}` character set utf8mb4 collate utf8mb4_unicode_ci")
	try:
		with MariaDB(url) as db:
			create_schema(db)
			db.commit()
			start = time.perf_counter()
			payments = populate(db, args.drivers, args.days, args.per_day, random.Random(7))
			ledger_lines = db.sql("select count(*) from `tabTukTuk Ledger Entry`")[0][0]
			print(
				json.dumps(
					{
						"drivers": args.drivers,
						"days": args.days,
						"payments": payments,
						"ledger_lines": ledger_lines,
						"populate_s": round(time.perf_counter() - start, 1),
					}
				)
			)
			settings = load_settings(db)
			first = LAST_DAY - timedelta(days=args.days - 1)
			now = datetime.combine(LAST_DAY, datetime.max.time())
			queries = {
				"fleet_today": lambda: figures.fleet_today(db, settings, LAST_DAY),
				"collections_by_day_30d": lambda: figures.collections_by_day(db, first, LAST_DAY),
				"collections_by_day_and_driver_1d": lambda: figures.collections_by_day_and_driver(
					db, LAST_DAY, LAST_DAY
				),
				"target_attainment_30d": lambda: figures.target_attainment(
					db, settings, first, LAST_DAY, today=LAST_DAY
				),
				"unallocated_payments": lambda: figures.unallocated_payments(db),
				"payouts_needing_attention": lambda: figures.payouts_needing_attention(db, now=now),
				"driver_statement_30d": lambda: driver_statement(db, "D000001", first, LAST_DAY),
				"driver_statement_1d": lambda: driver_statement(db, "D000001", LAST_DAY, LAST_DAY),
				"latest_payments": lambda: figures.latest_payments(db, "D000001"),
			}
			for query, function in queries.items():
				print(json.dumps({"query": query, **timed(args.repeat, function)}))
				db.rollback()
	finally:
		server.sql(f"drop database if exists `{name}`")
		server.close()
	return 0


if __name__ == "__main__":
	sys.exit(main())
