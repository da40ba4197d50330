"""A failure at each step of the payment flow leaves nothing behind (DESIGN §1, §3)."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from tests.factories import c2b_body, counts, driver_state, make_driver, make_vehicle, raw
from tuktuk_management.ledger import c2b
from tuktuk_management.ledger.callback_log import (
	C2B_CONFIRMATION,
	process_logged_confirmation,
	store_callback,
)
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus
from tuktuk_management.standalone.db import MariaDB

PAYMENT_STEPS = ["transaction_inserted", "ledger_lines_inserted", "caches_updated", "payout_queued"]
CASES = (
	[("TT001", step) for step in PAYMENT_STEPS]
	+ [
		("D000002", step)
		for step in PAYMENT_STEPS[:3]  # a repayment queues no payout
	]
	+ [("NOWHERE", step) for step in PAYMENT_STEPS[:3]]
)  # suspense


class Injected(Exception):
	pass


def fail_at(step_name: str, reached: list[str]):
	def on_step(name: str) -> None:
		reached.append(name)
		if name == step_name:
			raise Injected(name)

	return on_step


@pytest.fixture
def fleet(db):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", current_balance=100, current_deposit_balance=50)
	make_driver(db, "D000002", None, current_balance=2900)
	db.commit()


def snapshot(db):
	return counts(db), {d: driver_state(db, d) for d in ("D000001", "D000002")}


@pytest.mark.parametrize(("account", "step"), CASES)
def test_failure_at_each_step_persists_nothing(db, fleet, now, account, step):
	body = raw(c2b_body(account, 400))
	log = store_callback(db, endpoint=C2B_CONFIRMATION, raw_body=body, received_at=now)
	db.commit()
	before = snapshot(db)
	reached: list[str] = []
	with pytest.raises(Injected):
		process_logged_confirmation(
			db, log, body, settings=load_settings(db), now=now, on_step=fail_at(step, reached)
		)
	assert reached[-1] == step  # the failure really happened at that step
	db.rollback()
	assert snapshot(db) == before
	assert db.sql("select status from `tabTukTuk Callback Log` where name = %s", (log,))[0][0] == "Received"
	assert check_books(db).clean
	# the stored body is applied exactly once when retried
	outcome = process_logged_confirmation(db, log, body, settings=load_settings(db), now=now)
	db.commit()
	assert outcome.status in (LogStatus.PROCESSED, LogStatus.UNALLOCATED)
	assert counts(db)["TukTuk Transaction"] == before[0]["TukTuk Transaction"] + 1
	assert check_books(db).clean


def test_savepoint_keeps_the_callers_earlier_work(db, fleet, now):
	"""A failed payment rolls back to its own savepoint, not the caller's whole transaction."""
	body = raw(c2b_body("TT001", 400))
	log = store_callback(db, endpoint=C2B_CONFIRMATION, raw_body=body, received_at=now)  # not committed
	with pytest.raises(Injected):
		c2b.process_confirmation(
			db, body, settings=load_settings(db), now=now, on_step=fail_at("caches_updated", [])
		)
	assert db.sql("select count(*) from `tabTukTuk Callback Log` where name = %s", (log,))[0][0] == 1
	db.commit()
	assert counts(db)["TukTuk Transaction"] == 0
	assert check_books(db).clean


def _crash_child(url, body, step):
	from datetime import datetime

	db = MariaDB(url)

	def on_step(name):
		if name == step:
			os._exit(17)

	c2b.process_confirmation(
		db, body, settings=load_settings(db), now=datetime(2026, 11, 21), on_step=on_step
	)
	db.commit()
	os._exit(0)


@pytest.mark.parametrize("step", PAYMENT_STEPS)
def test_process_crash_mid_flow_leaves_nothing(db, db_url, fleet, step):
	before = snapshot(db)
	process = multiprocessing.get_context("fork").Process(
		target=_crash_child, args=(db_url, raw(c2b_body("TT001", 400)), step)
	)
	process.start()
	process.join(30)
	assert process.exitcode == 17
	db.rollback()  # fresh snapshot
	assert snapshot(db) == before
	assert check_books(db).clean
