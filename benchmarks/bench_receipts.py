"""Payments with SMS receipts on against the same payments with receipts off, paired per round.

Two throwaway databases with the same tables: in one, TukTuk Settings has SMS and payment receipts
on (each payment's TukTuk Transaction row also carries its receipt: ``receipt_text``,
``receipt_pending``, in the same INSERT; the SMS sender makes the TukTuk Message rows later, see
``ledger/receipts.py``). After the payments the receipts are made into messages as the sender
does, and each run checks there is exactly one per payment. Each round sends the same number of
payments through ``cli.handle_confirmation`` to both, back to back, hot (one driver) and spread
(1,000 drivers), with the same worker count; the figure is the median over rounds of
receipts-on / receipts-off payments per second, so a machine whose load drifts between rounds
still compares like with like.

``interleaved``: one process with one connection to each database sends payment after payment,
alternating off / on, timing each one and counting its statements (all, and while the driver
row is locked). Alternating per payment cancels the drift of a loaded machine that makes rounds
of whole seconds differ by more than 5 %; the medians of thousands of single payments are what
the cost per payment is. Alone: ``python -m benchmarks.bench_receipts [--quick]
[--interleaved-only]``.
"""

from __future__ import annotations

import random
import time
from datetime import datetime

from benchmarks import common
from benchmarks.payments import make_core_handler
from benchmarks.round_trips import CountingMariaDB
from tuktuk_management.cli import handle_confirmation
from tuktuk_management.ledger.receipts import materialize_receipts
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE
from tuktuk_management.standalone.db import MariaDB
from tuktuk_management.standalone.schema import set_single_value

WORKERS = 4
VARIANTS = ("off", "on")


def _compare(
	db_url: str | None, *, drivers: int, payments: int, rounds: int, label: str, workers: int = WORKERS
) -> dict:
	rng = random.Random(11)
	figures: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
	ratios = []
	with (
		common.throwaway_database(db_url, f"{label}_off") as off_url,
		common.throwaway_database(db_url, f"{label}_on") as on_url,
	):
		urls = {"off": off_url, "on": on_url}
		with MariaDB(on_url) as db:
			set_single_value(db, SETTINGS_DOCTYPE, "sms_enabled", 1)
			set_single_value(db, SETTINGS_DOCTYPE, "sms_receipts_enabled", 1)
			db.commit()
		accounts = {variant: common.make_fleet(url, drivers) for variant, url in urls.items()}
		for round_number in range(-1, rounds):  # round -1 warms up both
			per_s = {}
			order = VARIANTS if round_number % 2 else tuple(reversed(VARIANTS))
			for variant in order:
				chosen = [rng.choice(accounts[variant]) for _ in range(payments)]
				items = [
					common.confirmation_body(f"X{round_number + 1}{variant[1].upper()}{index:07d}", account)
					for index, account in enumerate(chosen)
				]
				result = common.run_workers(urls[variant], make_core_handler, common.deal(items, workers))
				assert set(result.statuses) == {"Processed"}, set(result.statuses)
				per_s[variant] = result.per_s
			if round_number >= 0:
				for variant in VARIANTS:
					figures[variant].append(per_s[variant])
				ratios.append(per_s["on"] / per_s["off"])
		with MariaDB(on_url) as db:
			messages = materialized(db)
			transactions = db.sql("select count(*) from `tabTukTuk Transaction`")[0][0]
	assert messages == transactions, (messages, transactions)  # one receipt per payment
	return {
		"off_payments_per_s": round(common.median(figures["off"]), 1),
		"on_payments_per_s": round(common.median(figures["on"]), 1),
		"ratio_on_to_off": round(common.median(ratios), 3),
		"ratios": [round(ratio, 3) for ratio in ratios],
		"payments_per_round": payments,
		"rounds": rounds,
		"workers": workers,
		"drivers": drivers,
	}


def interleaved(db_url: str | None, *, drivers: int, payments: int, label: str) -> dict:
	"""Per payment, off and on alternating in one process: medians of the wall time, statements."""
	rng = random.Random(13)
	seconds: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
	with (
		common.throwaway_database(db_url, f"{label}_off") as off_url,
		common.throwaway_database(db_url, f"{label}_on") as on_url,
	):
		urls = {"off": off_url, "on": on_url}
		with MariaDB(on_url) as db:
			set_single_value(db, SETTINGS_DOCTYPE, "sms_enabled", 1)
			set_single_value(db, SETTINGS_DOCTYPE, "sms_receipts_enabled", 1)
			db.commit()
		accounts = {variant: common.make_fleet(url, drivers) for variant, url in urls.items()}
		connections = {variant: CountingMariaDB(url) for variant, url in urls.items()}
		try:
			for index in range(-50, payments):  # the first 50 of each warm up, not counted
				account_number = rng.randrange(drivers)
				order = VARIANTS if index % 2 else tuple(reversed(VARIANTS))
				for variant in order:
					db = connections[variant]
					if index == 0:
						db.statements = db.under_lock = 0
					body = common.confirmation_body(
						f"I{variant[1].upper()}{index + 50:08d}", accounts[variant][account_number]
					)
					started = time.perf_counter()
					status = handle_confirmation(db, body, source_ip="bench")
					elapsed = time.perf_counter() - started
					assert status == "Processed", status
					if index >= 0:
						seconds[variant].append(elapsed)
			statements = {variant: db.statements / payments for variant, db in connections.items()}
			under_lock = {variant: db.under_lock / payments for variant, db in connections.items()}
			messages = materialized(connections["on"])
			transactions = connections["on"].sql("select count(*) from `tabTukTuk Transaction`")[0][0]
		finally:
			for db in connections.values():
				db.close()
	assert messages == transactions, (messages, transactions)
	median_ms = {variant: common.median(values) * 1000 for variant, values in seconds.items()}
	return {
		"off_ms": round(median_ms["off"], 3),
		"on_ms": round(median_ms["on"], 3),
		"ratio_on_to_off": round(median_ms["off"] / median_ms["on"], 3),  # as throughput: off time / on time
		"statements_off": statements["off"],
		"statements_on": statements["on"],
		"under_lock_off": under_lock["off"],
		"under_lock_on": under_lock["on"],
		"payments": payments,
		"drivers": drivers,
	}


def interleaved_same_database(db_url: str | None, *, drivers: int, payments: int, label: str) -> dict:
	"""Per payment, off and on alternating in ONE database, to the same drivers: the receipts switch
	is flipped (and committed) between payments, untimed. Two databases can differ by more than the
	receipt costs (their pages sit differently in the buffer pool); one database cannot."""
	rng = random.Random(17)
	seconds: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
	with common.throwaway_database(db_url, label) as url:
		accounts = common.make_fleet(url, drivers)
		with MariaDB(url) as db:
			set_single_value(db, SETTINGS_DOCTYPE, "sms_enabled", 1)
			db.commit()
		db = CountingMariaDB(url)
		statements = {variant: 0 for variant in VARIANTS}
		try:
			for index in range(-50, payments):  # the first 50 of each warm up, not counted
				account_number = rng.randrange(drivers)
				order = VARIANTS if index % 2 else tuple(reversed(VARIANTS))
				for variant in order:
					set_single_value(db, SETTINGS_DOCTYPE, "sms_receipts_enabled", int(variant == "on"))
					db.commit()
					body = common.confirmation_body(
						f"S{variant[1].upper()}{index + 50:08d}", accounts[account_number]
					)
					before = db.statements
					started = time.perf_counter()
					status = handle_confirmation(db, body, source_ip="bench")
					elapsed = time.perf_counter() - started
					assert status == "Processed", status
					if index >= 0:
						seconds[variant].append(elapsed)
						statements[variant] += db.statements - before
			messages = materialized(db)
		finally:
			db.close()
	assert messages == payments + 50, messages  # one receipt per payment made with receipts on
	median_ms = {variant: common.median(values) * 1000 for variant, values in seconds.items()}
	return {
		"off_ms": round(median_ms["off"], 3),
		"on_ms": round(median_ms["on"], 3),
		"ratio_on_to_off": round(median_ms["off"] / median_ms["on"], 3),
		"statements_off": statements["off"] / payments,
		"statements_on": statements["on"] / payments,
		"under_lock_off": float("nan"),
		"under_lock_on": float("nan"),
		"payments": payments,
		"drivers": drivers,
	}


def materialized(db) -> int:
	"""Make every pending receipt into its TukTuk Message as the SMS sender does (batches, each
	committed); the number of receipt messages then."""
	while materialize_receipts(db, now=datetime.now()):
		db.commit()
	db.commit()
	return db.sql("select count(*) from `tabTukTuk Message` where kind = 'Receipt'")[0][0]


def run_interleaved(db_url: str | None, quick: bool) -> dict:
	payments = 500 if quick else 3000
	result = {
		"interleaved hot": interleaved(db_url, drivers=1, payments=payments, label="rcpt_il_hot"),
		"interleaved spread": interleaved(db_url, drivers=1000, payments=payments, label="rcpt_il_spread"),
		"one database, hot": interleaved_same_database(
			db_url, drivers=1, payments=payments, label="rcpt_one_hot"
		),
		"one database, spread": interleaved_same_database(
			db_url, drivers=1000, payments=payments, label="rcpt_one_spread"
		),
	}
	common.print_table(
		"Single payments with SMS receipts off and on, alternating in one process (medians)",
		[
			"case",
			"payments each",
			"off ms",
			"on ms",
			"throughput on / off",
			"statements off / on",
			"under lock off / on",
		],
		[
			[
				case,
				r["payments"],
				r["off_ms"],
				r["on_ms"],
				r["ratio_on_to_off"],
				f"{r['statements_off']:.2f} / {r['statements_on']:.2f}",
				f"{r['under_lock_off']:.2f} / {r['under_lock_on']:.2f}",
			]
			for case, r in result.items()
		],
	)
	return result


def run(db_url: str | None, quick: bool) -> dict:
	payments, rounds = (300, 3) if quick else (1000, 5)
	result = {
		# One worker, short alternating blocks: the cost per payment with the least queueing.
		"single": _compare(
			db_url, drivers=1000, payments=payments // 5, rounds=rounds * 3, label="rcpt_single", workers=1
		),
		"hot": _compare(db_url, drivers=1, payments=payments, rounds=rounds, label="rcpt_hot"),
		"spread": _compare(db_url, drivers=1000, payments=payments, rounds=rounds, label="rcpt_spread"),
	}
	common.print_table(
		"Payments with SMS receipts on vs off (paired rounds; medians)",
		["case", "workers", "off payments/s", "on payments/s", "on / off", "per-round on / off"],
		[
			[
				case,
				r["workers"],
				r["off_payments_per_s"],
				r["on_payments_per_s"],
				r["ratio_on_to_off"],
				str(r["ratios"]),
			]
			for case, r in result.items()
		],
	)
	return result


if __name__ == "__main__":
	import argparse

	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--quick", action="store_true")
	parser.add_argument("--db-url", default=common.DEFAULT_SERVER_URL)
	parser.add_argument("--interleaved-only", action="store_true")
	arguments = parser.parse_args()
	run_interleaved(arguments.db_url, arguments.quick)
	if not arguments.interleaved_only:
		run(arguments.db_url, arguments.quick)
