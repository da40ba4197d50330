"""Payments with SMS receipts on against the same payments with receipts off, paired per round.

Two throwaway databases with the same tables: in one, TukTuk Settings has SMS and payment receipts
on (each payment also writes its TukTuk Message row). Each round sends the same number of
payments through ``cli.handle_confirmation`` to both, back to back, hot (one driver) and spread
(1,000 drivers), with the same worker count; the figure is the median over rounds of
receipts-on / receipts-off payments per second, so a machine whose load drifts between rounds
still compares like with like. Alone: ``python -m benchmarks.bench_receipts [--quick]``.
"""

from __future__ import annotations

import random

from benchmarks import common
from benchmarks.payments import make_core_handler
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
			messages = db.sql("select count(*) from `tabTukTuk Message`")[0][0]
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
	arguments = parser.parse_args()
	run(arguments.db_url, arguments.quick)
