"""The driver portal's queries on a database holding 100,000 payments.

Builds a throwaway database with 50 drivers and 100,000 payments spread over the last 30 days
(each with its 3 ledger lines and a payout, 400,000 rows written with MariaDB's sequence engine),
then times what ``www/driver`` asks the database for one driver: today's figures, the last 10
payments and payouts, and a 7-day statement. Median and worst of 20 page loads, database and
Python only (Frappe's template rendering is not included). Alone:
``python -m benchmarks.bench_portal [--quick]``.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from benchmarks import common
from tuktuk_management.ledger import portal
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.standalone.db import MariaDB

DRIVERS = 50
LOADS = 20


def _fill(db: MariaDB, payments: int, now: datetime) -> None:
	seq = f"seq_1_to_{payments}"
	# Payment i goes to driver (i mod 50) + 1, at now - (i mod 30) days - (i mod 997) seconds.
	when = "date_sub(%s, interval (seq mod 30) * 86400 + (seq mod 997) second)"
	driver = "concat('D', lpad(seq mod 50 + 1, 6, '0'))"
	db.sql(
		f"""insert into `tabTukTuk Transaction` (name, creation, modified, owner, modified_by,
			transaction_id, transaction_type, payment_status, timestamp, driver, amount,
			target_contribution, driver_share)
		select concat('P', seq), {when}, {when}, 'x', 'x', concat('P', seq), 'Payment', 'Completed',
			{when}, {driver}, 100, 50, 50 from {seq}""",
		(now, now, now),
	)
	for line, (account, party, debit, credit) in enumerate(
		(("paybill", None, 100, 0), ("target", "d", 0, 50), ("payable", "d", 0, 50)), start=1
	):
		party_sql = driver if party else "null"
		party_type = "'TukTuk Driver'" if party else "null"
		db.sql(
			f"""insert into `tabTukTuk Ledger Entry` (name, creation, modified, owner, modified_by, idx,
				posting_datetime, account, party_type, party, debit, credit, voucher_type, voucher_no)
			select concat('L{line}-', seq), {when}, {when}, 'x', 'x', {line}, {when}, '{account}',
				{party_type}, {party_sql}, {debit}, {credit}, 'TukTuk Transaction', concat('P', seq)
			from {seq}""",
			(now, now, now),
		)
	db.sql(
		f"""insert into `tabTukTuk Payout` (name, creation, modified, owner, modified_by, driver, amount,
			status, transaction, queued_at)
		select concat('O', seq), {when}, {when}, 'x', 'x', {driver}, 50, 'Paid', concat('P', seq), {when}
		from {seq}""",
		(now, now, now),
	)
	db.commit()


def run(db_url: str | None, quick: bool) -> dict:
	payments = 20_000 if quick else 100_000
	now = datetime.now().replace(microsecond=0)
	with common.throwaway_database(db_url, "portal") as url:
		common.make_fleet(url, DRIVERS, daily_target_kes=3000)
		with MariaDB(url) as db:
			started = time.perf_counter()
			_fill(db, payments, now)
			fill_s = time.perf_counter() - started
			settings = load_settings(db)
			timings = []
			parts: dict[str, list[float]] = {"today": [], "payments": [], "payouts": [], "statement": []}
			for load in range(LOADS + 1):
				driver = f"D{load % DRIVERS + 1:06d}"
				steps = {
					"today": lambda: portal.driver_today(db, settings, driver),
					"payments": lambda: portal.recent_payments(db, driver),
					"payouts": lambda: portal.recent_payouts(db, driver),
					"statement": lambda: portal.statement(
						db, driver, (now - timedelta(days=6)).date(), now.date()
					),
				}
				total = 0.0
				for name, step in steps.items():
					started = time.perf_counter()
					value = step()
					elapsed = time.perf_counter() - started
					total += elapsed
					if load:
						parts[name].append(elapsed)
					if name == "statement":
						statement = value
				db.rollback()
				if load:  # the first load warms the buffer pool
					timings.append(total)
	result = {
		"payments": payments,
		"drivers": DRIVERS,
		"statement_lines": len(statement.lines),
		"median_ms": round(common.median(timings) * 1000, 1),
		"worst_ms": round(max(timings) * 1000, 1),
		"fill_s": round(fill_s, 1),
		"part_median_ms": {name: round(common.median(values) * 1000, 1) for name, values in parts.items()},
	}
	common.print_table(
		f"Driver portal queries, {payments:,} payments over {DRIVERS} drivers ({LOADS} loads)",
		["median ms", "worst ms", "7-day statement lines", "database filled in s", "median ms per part"],
		[
			[
				result["median_ms"],
				result["worst_ms"],
				result["statement_lines"],
				result["fill_s"],
				str(result["part_median_ms"]),
			]
		],
	)
	return result


if __name__ == "__main__":
	import argparse

	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--quick", action="store_true")
	parser.add_argument("--db-url", default=common.DEFAULT_SERVER_URL)
	arguments = parser.parse_args()
	run(arguments.db_url, arguments.quick)
