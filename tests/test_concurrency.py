"""Several processes against one MariaDB: hot driver, redeliveries in flight, exact totals."""

from __future__ import annotations

import multiprocessing
import random

from tests.factories import c2b_body, driver_state, make_driver, make_vehicle, raw
from tuktuk_management.cli import handle_confirmation, replay
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.split import split_payment
from tuktuk_management.standalone.db import MariaDB

WORKERS = 4


def _deliver_all(url, bodies, seed, results):
	"""One process delivering every body, in its own order: each TransID arrives WORKERS times."""
	db = MariaDB(url)
	order = list(bodies)
	random.Random(seed).shuffle(order)
	statuses = [handle_confirmation(db, body) for body in order]
	db.close()
	results.put(statuses)


def expected_balance(amounts, target_kes=3000, opening_kes=0):
	from decimal import Decimal

	portions = sum(split_payment(a, 10**12, Decimal(50), 0).target_contribution_kes for a in amounts)
	return max(opening_kes, min(target_kes, opening_kes + portions))


def test_hot_driver_every_callback_delivered_by_every_process(db, db_url):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", current_balance=100, current_deposit_balance=300)
	db.commit()
	rng = random.Random(11)
	amounts = [rng.choice([50, 70, 100, 150, 200]) for _ in range(120)]
	bodies = [raw(c2b_body("TT001", amount)) for amount in amounts]

	context = multiprocessing.get_context("fork")
	results = context.Queue()
	processes = [
		context.Process(target=_deliver_all, args=(db_url, bodies, seed, results)) for seed in range(WORKERS)
	]
	for process in processes:
		process.start()
	statuses = [status for _ in processes for status in results.get(timeout=300)]
	for process in processes:
		process.join(60)
		assert process.exitcode == 0

	assert statuses.count("Processed") == len(bodies)  # each TransID applied exactly once
	assert statuses.count("Duplicate") == len(bodies) * (WORKERS - 1)
	assert set(statuses) == {"Processed", "Duplicate"}
	db.rollback()
	state = driver_state(db, "D000001")
	assert state["current_balance"] == expected_balance(amounts, opening_kes=100)
	# conservation: balance + deposit + payable = opening + Σ amounts
	assert state["current_balance"] + state["current_deposit_balance"] + state["payout_pending"] == (
		100 + 300 + sum(amounts)
	)
	assert db.sql("select count(*) from `tabTukTuk Transaction`")[0][0] == len(bodies)
	assert check_books(db).clean


def test_parallel_replay_matches_sequential_replay(db, db_url):
	for number in range(1, 4):
		make_vehicle(db, f"TT00{number}")
		make_driver(db, f"D00000{number}", f"TT00{number}")
	db.commit()
	rng = random.Random(5)
	bodies = [raw(c2b_body(f"TT00{rng.randint(1, 3)}", rng.choice([60, 100, 250, 500]))) for _ in range(150)]
	bodies += [rng.choice(bodies) for _ in range(45)]  # redeliveries, some in flight at once
	rng.shuffle(bodies)
	bodies += ["{broken", raw(c2b_body("TT009", 100))]

	summary = replay(db_url, bodies, workers=WORKERS)
	assert summary["received"] == len(bodies)
	assert summary["errors"] == 0 and summary["invalid"] == 1 and summary["unallocated"] == 1
	unique = len({b for b in bodies[:-2]})
	assert summary["applied"] == unique
	assert summary["duplicates"] == len(bodies) - 2 - unique
	db.rollback()
	parallel = {d: driver_state(db, d) for d in ("D000001", "D000002", "D000003")}
	assert check_books(db).clean

	db.sql("delete from `tabTukTuk Transaction`")
	db.sql("delete from `tabTukTuk Ledger Entry`")
	db.sql("delete from `tabTukTuk Payout`")
	db.sql("delete from `tabTukTuk Callback Log`")
	db.sql(
		"update `tabTukTuk Driver` set current_balance = 0, payout_pending = 0, current_deposit_balance = 0"
	)
	db.commit()
	sequential_summary = replay(db_url, bodies, workers=1)
	assert sequential_summary == summary
	db.rollback()
	for driver, state in parallel.items():
		sequential = driver_state(db, driver)
		assert sequential["current_balance"] == state["current_balance"]
		assert (
			sum(sequential.values()) - sequential["left_to_target"]
			== sum(state.values()) - state["left_to_target"]
		)
	assert check_books(db).clean
