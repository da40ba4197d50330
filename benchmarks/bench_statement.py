"""Benchmark (not a test): importing, matching and recovering from an M-Pesa statement.

    python benchmarks/bench_statement.py [--quick] [--db-url mysql://root@127.0.0.1:3306]

In its own throwaway database ``tuktuk_bench_stmt_<pid>_<hex>`` (dropped at the end): the sample
fleet, N TukTuk Transactions written with ``INSERT ... SELECT`` (one business day), and a
statement export of N + M Paid In lines (M payments whose callbacks were lost, accounts spread
over the fleet's vehicles). Times:

- parsing the CSV (Python's csv reader, Decimal amounts);
- storing the lines (``INSERT IGNORE``, 500 per statement) and storing them again (all present);
- matching the period (receipt look-ups in chunks of 1,000, books side, saving the outcomes);
- recovering the M missed payments through the confirmation path: one process, then (on a second
  day with M other missed payments) four ``recover`` processes at once.

Prints a table and, as its last line, one JSON object with the figures. ``--quick``: N = 10,000,
M = 200 (full: N = 100,000, M = 1,000).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
	sys.path.insert(0, str(ROOT))

from tuktuk_management.ledger.mpesa_statement import match, parse, store
from tuktuk_management.standalone.db import DatabaseURL, MariaDB
from tuktuk_management.standalone.fleet import load_fixtures
from tuktuk_management.standalone.schema import create_schema
from tuktuk_management.standalone.statement import recover_statement

DEFAULT_SERVER_URL = "mysql://root@127.0.0.1:3306"
FULL = {"books": 100_000, "missed": 1_000}
QUICK = {"books": 10_000, "missed": 200}
DAY = datetime(2026, 11, 21, 6, 0, 0)
SECOND_DAY = datetime(2026, 11, 22, 6, 0, 0)
VEHICLES = [f"TT{n:03d}" for n in range(1, 9)]  # each with an active driver in samples/fleet.json
NOW = datetime(2026, 11, 23, 9, 0, 0)


def server_url(db_url: str | None) -> str:
	url = (db_url or os.environ.get("TUKTUK_BENCH_DB_URL") or DEFAULT_SERVER_URL).rstrip("/")
	scheme, _, rest = url.partition("://")
	return f"{scheme}://{rest.split('/')[0]}"


def statement_text(books: int, missed: int, day: datetime, prefix: str) -> str:
	"""N lines for the books' transactions (``BK<n>``) and M for payments never confirmed."""
	rows = []
	step_s = max(1, 12 * 3600 // max(1, books + missed))
	for n in range(books + missed):
		receipt = f"BK{n:08d}" if n < books else f"{prefix}{n:08d}"
		rows.append(
			{
				"receipt_no": receipt,
				"completion_time": (day + timedelta(seconds=n * step_s)).strftime("%d-%m-%Y %H:%M:%S"),
				"details": "Pay Bill Online",
				"transaction_status": "Completed",
				"paid_in": "100.00",
				"reason_type": "Pay Bill Online",
				"account_no": VEHICLES[n % len(VEHICLES)],
			}
		)
	return parse.write_statement(rows)


def insert_books(db: MariaDB, books: int, day: datetime) -> None:
	step_s = max(1, 12 * 3600 // books)
	db.sql(
		f"""insert into `tabTukTuk Transaction` (name, creation, modified, owner, modified_by, transaction_id,
		transaction_type, payment_status, `timestamp`, bill_ref_number, amount, business_shortcode)
		select concat('BK', lpad(seq - 1, 8, '0')), %s, %s, 'bench', 'bench', concat('BK', lpad(seq - 1, 8, '0')),
		'Payment', 'Completed', %s + interval ((seq - 1) * {step_s}) second, 'TT001', 100, '600966'
		from seq_1_to_{books}""",
		(day, day, day),
	)
	db.commit()


def timed(action):
	started = time.perf_counter()
	result = action()
	return result, time.perf_counter() - started


def run(db_url: str | None = None, quick: bool = False) -> dict:
	sizes = QUICK if quick else FULL
	books, missed = sizes["books"], sizes["missed"]
	name = f"tuktuk_bench_stmt_{os.getpid()}_{secrets.token_hex(3)}"
	url = DatabaseURL.parse(f"{server_url(db_url)}/{name}")
	server = MariaDB(url, database="")
	server.sql(f"create database `{name}` character set utf8mb4 collate utf8mb4_unicode_ci")
	figures: dict = {
		"books": books,
		"missed": missed,
		"machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
	}
	try:
		with MariaDB(url) as db:
			create_schema(db)
			load_fixtures(db, json.loads((ROOT / "samples" / "fleet.json").read_text()), now=DAY)
			db.commit()
			insert_books(db, books, DAY)
			text = statement_text(books, missed, DAY, "MS")
			lines, figures["parse_s"] = timed(lambda: parse.parse_statement(text))
			imported, figures["store_s"] = timed(
				lambda: store.import_statement(db, lines, now=NOW, user="bench")
			)
			db.commit()
			again, figures["store_again_s"] = timed(
				lambda: store.import_statement(db, lines, now=NOW, user="bench")
			)
			db.commit()
			assert again.lines_new == 0
			result, figures["match_s"] = timed(
				lambda: match.run_match(db, now=NOW, user="bench", statement_import=imported.statement_import)
			)
			db.commit()
			assert result.summary()["recoverable"]["count"] == missed, result.summary()["recoverable"]
			done, figures["recover_1_process_s"] = timed(lambda: recover_statement(db))
			assert sum(r.applied for r in done) == missed
			# A second day: M other missed payments, four recover processes at once.
			second = parse.parse_statement(statement_text(0, missed, SECOND_DAY, "MT"))
			second_import = store.import_statement(db, second, now=NOW, user="bench")
			db.commit()
			match.run_match(db, now=NOW, user="bench", statement_import=second_import.statement_import)
			db.commit()
		command = [
			sys.executable,
			"-m",
			"tuktuk_management.cli",
			"--db-url",
			f"{server_url(db_url)}/{name}",
			"recover",
		]
		started = time.perf_counter()
		processes = [
			subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
			for _ in range(4)
		]
		applied = 0
		for process in processes:
			stdout, stderr = process.communicate(timeout=1800)
			assert process.returncode == 0, stderr
			applied += json.loads(stdout)["applied"]
		figures["recover_4_processes_s"] = time.perf_counter() - started
		assert applied == missed, applied
	finally:
		server.sql(f"drop database if exists `{name}`")
		server.close()
	figures["lines"] = books + missed
	figures["match_lines_per_s"] = round((books + missed) / figures["match_s"])
	figures["recover_1_process_per_s"] = round(missed / figures["recover_1_process_s"], 1)
	figures["recover_4_processes_per_s"] = round(missed / figures["recover_4_processes_s"], 1)
	return figures


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--db-url", default=None)
	parser.add_argument("--quick", action="store_true")
	args = parser.parse_args()
	figures = run(args.db_url, args.quick)
	lines = figures["lines"]
	print(f"statement of {lines:,} lines ({figures['books']:,} in the books, {figures['missed']:,} missed)")
	print(f"  parse CSV             {figures['parse_s']:8.2f} s")
	print(f"  store lines           {figures['store_s']:8.2f} s")
	print(f"  store again (no-op)   {figures['store_again_s']:8.2f} s")
	print(f"  match the period      {figures['match_s']:8.2f} s  ({figures['match_lines_per_s']:,} lines/s)")
	print(
		f"  recover, 1 process    {figures['recover_1_process_s']:8.2f} s  ({figures['recover_1_process_per_s']} payments/s)"
	)
	print(
		f"  recover, 4 processes  {figures['recover_4_processes_s']:8.2f} s  "
		f"({figures['recover_4_processes_per_s']} payments/s)"
	)
	print(
		json.dumps(
			{key: round(value, 3) if isinstance(value, float) else value for key, value in figures.items()}
		)
	)


if __name__ == "__main__":
	main()
