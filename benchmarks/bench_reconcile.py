"""Benchmark (not a test): reconciliation and daily close on a generated fleet.

    python benchmarks/bench_reconcile.py [--quick] [--db-url mysql://root@127.0.0.1:3306]

Generates, in its own throwaway database ``tuktuk_bench_rec_<pid>_<hex>`` (dropped at the end),
10,000 drivers and 1,000,000 ledger lines (333,334 C2B payments of 3 lines each, with their
TukTuk Transaction rows) using ``INSERT ... SELECT`` from MariaDB's sequence tables; the driver
caches are set from the ledger sums, then 25 drivers get drift written behind the app's back.
Then it times:

- the full set-based reconciliation (``ledger.reconcile.check_books``: every cache against its
  ledger sum in one query, plus the ledger invariants), and the cache check alone;
- the same cache check done the old way: one query per driver (10,000 round trips);
- the daily close of every driver (``ledger.close.close_day``: one committed unit of work per
  driver, as the background job does).

The fleet has the driver lifecycle of DESIGN §8 unless ``--no-lifecycle``: every Regular driver
drives their own vehicle, 10 % have an Approved day off on the business date (n mod 10 = 5),
5 % are Substitutes without a vehicle (n mod 20 = 19) and 5 % are replaced by one of them for
the day (n mod 20 = 3, substitute n + 16), so the close reads days off and substitutions.

Prints a table, and as its last line one JSON object with the figures. ``--quick``: 1,000
drivers / 100,000 lines. ``run(db_url, quick) -> dict`` is the entry point of benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
	sys.path.insert(0, str(ROOT))

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.close import close_day
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.reconcile import check_books, driver_balance_discrepancies
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.standalone.db import DatabaseURL, MariaDB
from tuktuk_management.standalone.schema import create_schema

DEFAULT_SERVER_URL = "mysql://root@127.0.0.1:3306"
FULL = {"drivers": 10_000, "ledger_lines": 1_000_000}
QUICK = {"drivers": 1_000, "ledger_lines": 100_000}
DRIFTED_DRIVERS = 25
BUSINESS_DATE = date(2026, 11, 21)
CREATED = datetime(2026, 11, 20, 8, 0)
LINES_PER_PAYMENT = 3
INSERT_CHUNK_PAYMENTS = 100_000  # rows per INSERT ... SELECT (keeps each statement's undo small)


def server_url(db_url: str | None) -> str:
	"""``mysql://USER[:PW]@HOST:PORT`` without any database part."""
	url = (db_url or os.environ.get("TUKTUK_BENCH_DB_URL") or DEFAULT_SERVER_URL).rstrip("/")
	scheme, _, rest = url.partition("://")
	return f"{scheme}://{rest.split('/')[0]}"


def generate(db: MariaDB, drivers: int, ledger_lines: int) -> dict:
	"""Drivers D000001.., payments of 50 + 50·(n mod 20) KES split 50/50 (paybill debit, target
	and payable credit), spread over the business day, one TukTuk Transaction each."""
	payments = -(-ledger_lines // LINES_PER_PAYMENT)
	assert drivers <= 999_999 and payments <= 10_000_000
	db.sql(
		f"""insert into `tabTukTuk Driver` (name, creation, modified, owner, modified_by, driver_name,
			sunny_id, status, daily_target, fare_percentage)
		select concat('D', lpad(seq, 6, '0')), %s, %s, 'Administrator', 'Administrator',
			concat('Driver ', seq), concat('D', lpad(seq, 6, '0')), 'Active', 0, 0
		from seq_1_to_{drivers}""",
		(CREATED, CREATED),
	)
	day_start = datetime.combine(BUSINESS_DATE, datetime.min.time())
	for first in range(1, payments + 1, INSERT_CHUNK_PAYMENTS):
		last = min(payments, first + INSERT_CHUNK_PAYMENTS - 1)
		# payment n: driver 1 + n mod drivers, amount 50 + 50·(n mod 20), posted n·(86000/payments) s
		# after midnight (inside the business day)
		common = f"""from seq_{first}_to_{last} p"""
		db.sql(
			f"""insert into `tabTukTuk Transaction` (name, creation, modified, owner, modified_by,
				transaction_id, transaction_type, payment_status, timestamp, bill_ref_number, driver,
				business_shortcode, amount, target_contribution, driver_share, deposit_contribution)
			select concat('BT', lpad(p.seq, 8, '0')), %s, %s, 'Administrator', 'Administrator',
				concat('BT', lpad(p.seq, 8, '0')), 'Payment', 'Completed', %s, 'TT',
				concat('D', lpad(1 + p.seq mod {drivers}, 6, '0')), '600966',
				50 + 50 * (p.seq mod 20), 25 + 25 * (p.seq mod 20), 25 + 25 * (p.seq mod 20), 0
			{common}""",
			(day_start, day_start, day_start),
		)
		db.sql(
			f"""insert into `tabTukTuk Ledger Entry` (name, creation, modified, owner, modified_by,
				idx, posting_datetime, account, party_type, party, debit, credit, voucher_type,
				voucher_no, is_reversal, remarks)
			select concat('L', lpad(p.seq, 8, '0'), l.seq), t, t, 'Administrator', 'Administrator',
				l.seq + 1, t,
				elt(l.seq + 1, 'paybill', 'target', 'payable'),
				if(l.seq = 0, null, %s),
				if(l.seq = 0, null, concat('D', lpad(1 + p.seq mod {drivers}, 6, '0'))),
				if(l.seq = 0, 50 + 50 * (p.seq mod 20), 0),
				if(l.seq = 0, 0, 25 + 25 * (p.seq mod 20)),
				'TukTuk Transaction', concat('BT', lpad(p.seq, 8, '0')), 0, 'bench'
			from (select seq, %s + interval floor(seq * (86000 / {payments})) second as t {common}) p
			cross join seq_0_to_2 l""",
			(accounts.DRIVER_DOCTYPE, day_start),
		)
		db.commit()
	# caches = ledger sums (one set-based update), left_to_target from the default 3000 target
	db.sql(
		"""update `tabTukTuk Driver` d join (
			select party,
				sum(case when account = 'target' then credit - debit else 0 end) as target_kes,
				sum(case when account = 'payable' then credit - debit else 0 end) as payable_kes
			from `tabTukTuk Ledger Entry` where party_type = 'TukTuk Driver' group by party
		) l on l.party = d.name
		set d.current_balance = l.target_kes, d.payout_pending = l.payable_kes,
			d.left_to_target = greatest(0, 3000 - l.target_kes)"""
	)
	db.commit()
	lines = db.sql("select count(*) from `tabTukTuk Ledger Entry`")[0][0]
	return {"drivers": drivers, "ledger_lines": int(lines), "payments": payments}


def add_lifecycle(db: MariaDB, drivers: int) -> dict:
	"""Vehicles for the Regular drivers, Substitutes, Approved days off and Active substitutions on
	the business date (see the module docstring); returns their counts."""
	day = BUSINESS_DATE
	db.sql(
		f"""insert into `tabTukTuk Vehicle` (name, creation, modified, owner, modified_by, tuktuk_id,
			mpesa_account, status)
		select concat('TT', lpad(seq, 6, '0')), %s, %s, 'Administrator', 'Administrator',
			concat('TT', lpad(seq, 6, '0')), concat('TT', lpad(seq, 6, '0')), 'Active'
		from seq_1_to_{drivers}""",
		(CREATED, CREATED),
	)
	db.sql(
		"""update `tabTukTuk Driver` set
			driver_kind = if(cast(substr(name, 2) as unsigned) mod 20 = 19, 'Substitute', 'Regular'),
			assigned_tuktuk = if(cast(substr(name, 2) as unsigned) mod 20 = 19, null,
				concat('TT', substr(name, 2)))"""
	)
	db.sql(
		f"""insert into `tabTukTuk Day Off` (name, creation, modified, owner, modified_by, driver,
			day_off_date, status, open_request_key)
		select concat('DO', lpad(seq, 6, '0')), %s, %s, 'Administrator', 'Administrator',
			concat('D', lpad(seq, 6, '0')), %s, 'Approved', concat('D', lpad(seq, 6, '0'), ':', %s)
		from seq_1_to_{drivers} where seq mod 10 = 5""",
		(CREATED, CREATED, day, day.isoformat()),
	)
	db.sql(
		f"""insert into `tabTukTuk Substitution` (name, creation, modified, owner, modified_by, vehicle,
			regular_driver, substitute, from_date, to_date, status)
		select concat('SUB', lpad(seq, 6, '0')), %s, %s, 'Administrator', 'Administrator',
			concat('TT', lpad(seq, 6, '0')), concat('D', lpad(seq, 6, '0')),
			concat('D', lpad(seq + 16, 6, '0')), %s, %s, 'Active'
		from seq_1_to_{drivers} where seq mod 20 = 3 and seq + 16 <= {drivers}""",
		(CREATED, CREATED, day, day),
	)
	db.commit()
	return {
		"days_off": int(db.sql("select count(*) from `tabTukTuk Day Off`")[0][0]),
		"substitutions": int(db.sql("select count(*) from `tabTukTuk Substitution`")[0][0]),
	}


def inject_drift(db: MariaDB, drivers: int) -> list[str]:
	step = max(1, drivers // DRIFTED_DRIVERS)
	names = [f"D{n:06d}" for n in range(1, drivers + 1, step)][:DRIFTED_DRIVERS]
	db.sql(
		"update `tabTukTuk Driver` set current_balance = current_balance + 7 where name in %s",
		(tuple(names),),
	)
	db.commit()
	return names


def per_driver_loop(db: MariaDB) -> list[dict]:
	"""The old way: one query per driver for its ledger sums (N round trips)."""
	found = []
	drivers = db.sql(
		"select name, current_balance, current_deposit_balance, payout_pending from `tabTukTuk Driver`"
	)
	for name, balance, deposit, pending in drivers:
		sums = dict(
			db.sql(
				"""select account, coalesce(sum(credit - debit), 0) from `tabTukTuk Ledger Entry`
				where party_type = 'TukTuk Driver' and party = %s group by account""",
				(name,),
			)
		)
		for field, cached, account in (
			("current_balance", balance, "target"),
			("current_deposit_balance", deposit, "deposit"),
			("payout_pending", pending, "payable"),
		):
			if to_kes(cached) != to_kes(sums.get(account, 0)):
				found.append({"driver": name, "field": field})
	return found


def timed(function, *args):
	started = time.perf_counter()
	result = function(*args)
	return result, time.perf_counter() - started


def run(db_url: str | None = None, quick: bool = False, lifecycle: bool = True) -> dict:
	"""Generate the fleet, time reconciliation (set-based and per-driver) and the daily close;
	return the figures (seconds, counts). Creates and drops its own database."""
	size = QUICK if quick else FULL
	base = server_url(db_url)
	database = f"tuktuk_bench_rec_{os.getpid()}_{secrets.token_hex(3)}"
	url = DatabaseURL.parse(f"{base}/{database}")
	server = MariaDB(url, database="")
	server.sql(f"create database `{database}` character set utf8mb4 collate utf8mb4_unicode_ci")
	try:
		with MariaDB(url) as db:
			create_schema(db)
			db.commit()
			generated, generate_s = timed(generate, db, size["drivers"], size["ledger_lines"])
			life = add_lifecycle(db, size["drivers"]) if lifecycle else {"days_off": 0, "substitutions": 0}
			drifted = inject_drift(db, size["drivers"])

			report, full_s = timed(check_books, db)
			db.rollback()
			(_, cache_drift), caches_s = timed(driver_balance_discrepancies, db)
			db.rollback()
			loop_found, loop_s = timed(per_driver_loop, db)
			db.rollback()
			assert sorted({d["driver"] for d in report.discrepancies}) == drifted
			assert sorted({d["driver"] for d in loop_found}) == drifted
			assert sorted({d["driver"] for d in cache_drift}) == drifted
			assert report.invariant_breaches == 0, report.as_dict()

			settings = load_settings(db)
			summary, close_s = timed(
				lambda: close_day(
					db,
					BUSINESS_DATE,
					settings=settings,
					clock=lambda: datetime(2026, 11, 21, 23, 59),
					commit=db.commit,
					rollback=db.rollback,
					batch_size_max=500,
				)
			)
			closed, not_judged = summary.drivers_closed, dict(summary.not_judged)
			while not summary.done:  # the chain of chunk jobs, in one process
				more, more_s = timed(
					lambda after=summary.last_driver: close_day(
						db,
						BUSINESS_DATE,
						settings=settings,
						clock=lambda: datetime(2026, 11, 21, 23, 59),
						commit=db.commit,
						rollback=db.rollback,
						after=after,
						batch_size_max=500,
					)
				)
				summary, close_s, closed = more, close_s + more_s, closed + more.drivers_closed
				for reason, count in more.not_judged.items():
					not_judged[reason] = not_judged.get(reason, 0) + count
			after_close, after_close_s = timed(check_books, db)
			db.rollback()
	finally:
		server.sql(f"drop database if exists `{database}`")
		server.close()
	return {
		"machine": f"{platform.machine()} {os.cpu_count()} cpu, {platform.python_version()}",
		"drivers": generated["drivers"],
		"ledger_lines": generated["ledger_lines"],
		"generate_s": round(generate_s, 2),
		"reconcile_full_s": round(full_s, 3),
		"reconcile_caches_s": round(caches_s, 3),
		"reconcile_per_driver_loop_s": round(loop_s, 3),
		"speedup_vs_loop": round(loop_s / caches_s, 1) if caches_s else None,
		"drift_found": len(report.discrepancies),
		"close_all_drivers_s": round(close_s, 2),
		"drivers_closed": closed,
		"days_off": life["days_off"],
		"substitutions": life["substitutions"],
		"not_judged": not_judged,
		"close_drivers_per_s": round(closed / close_s, 1) if close_s else None,
		"reconcile_after_close_s": round(after_close_s, 3),
		"clean_after_close_except_drift": sorted({d["driver"] for d in after_close.discrepancies}) == drifted,
	}


def main(argv: list[str] | None = None) -> int:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--quick", action="store_true", help="1,000 drivers / 100,000 lines")
	parser.add_argument("--db-url", default=None, help=f"MariaDB server (default {DEFAULT_SERVER_URL})")
	parser.add_argument(
		"--no-lifecycle", action="store_true", help="no vehicles, days off or substitutions (the old fleet)"
	)
	args = parser.parse_args(argv)
	result = run(args.db_url, args.quick, lifecycle=not args.no_lifecycle)
	rows = [
		("fleet", f"{result['drivers']:,} drivers, {result['ledger_lines']:,} ledger lines"),
		("generate (INSERT ... SELECT)", f"{result['generate_s']} s"),
		("full reconciliation (caches + invariants)", f"{result['reconcile_full_s']} s"),
		("cache check, one set-based query", f"{result['reconcile_caches_s']} s"),
		("cache check, one query per driver (old)", f"{result['reconcile_per_driver_loop_s']} s"),
		("speed-up of the set-based cache check", f"{result['speedup_vs_loop']}x"),
		(
			"daily close of every driver",
			f"{result['close_all_drivers_s']} s ({result['close_drivers_per_s']}/s)",
		),
		("full reconciliation after the close", f"{result['reconcile_after_close_s']} s"),
		(
			"days off / substitutions / not judged",
			f"{result['days_off']} / {result['substitutions']} / {result['not_judged']}",
		),
	]
	width = max(len(label) for label, _ in rows)
	for label, value in rows:
		print(f"{label:<{width}}  {value}")
	print(json.dumps(result))
	return 0


if __name__ == "__main__":
	sys.exit(main())
