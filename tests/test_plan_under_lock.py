"""The core plans a payment before locking the driver and settles it under the lock (ledger/c2b.py).

Between the plan (from an unlocked read) and the lock, another connection commits a change to
the driver. What counts is the locked row: the transaction, the payout and the voucher must all
follow it, and the books must stay clean.
"""

from __future__ import annotations

from decimal import Decimal

from tests.factories import c2b_body, driver_state, make_driver, make_vehicle, raw
from tuktuk_management.ledger import c2b
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.split import split_payment
from tuktuk_management.ledger.status import LogStatus
from tuktuk_management.standalone.db import MariaDB


def _between_plan_and_lock(db_url, change):
	"""An on_step hook that runs ``change(other_db)`` on another connection once, right after the
	transaction row is written (the plan is made, the driver is not locked yet), and commits it."""
	done = []

	def on_step(name: str) -> None:
		if name == "transaction_inserted" and not done:
			done.append(name)
			with MariaDB(db_url) as other:
				change(other)
				other.commit()

	return on_step


def _transaction(db, trans_id):
	return db.sql(
		"""select transaction_type, payment_status, driver, target_contribution, driver_share,
		unallocated_reason from `tabTukTuk Transaction` where name = %s""",
		(trans_id,),
		as_dict=True,
	)[0]


def _payouts(db, trans_id):
	return db.sql(
		"select driver, amount from `tabTukTuk Payout` where transaction = %s", (trans_id,), as_dict=True
	)


def test_a_payment_committed_in_between_changes_the_split(db, db_url, now):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", current_balance=2800)
	db.commit()

	def pay_200_first(other):
		outcome = c2b.process_confirmation(
			other, raw(c2b_body("TT001", 400)), settings=load_settings(other), now=now
		)
		assert outcome.status == LogStatus.PROCESSED and outcome.split.target_contribution_kes == 200

	body = c2b_body("TT001", 400)
	outcome = c2b.process_confirmation(
		db,
		raw(body),
		settings=load_settings(db),
		now=now,
		on_step=_between_plan_and_lock(db_url, pay_200_first),
	)
	db.commit()

	# Planned against 2,800 (200 to target, 200 share); the lock saw 3,000: the target is met.
	assert outcome.status == LogStatus.PROCESSED
	assert outcome.split == split_payment(400, 3000, Decimal(50), 3000)
	assert outcome.split.target_contribution_kes == 0 and outcome.split.driver_share_kes == 400
	row = _transaction(db, body["TransID"])
	assert (row["target_contribution"], row["driver_share"]) == (0, 400)
	assert [(p["driver"], p["amount"]) for p in _payouts(db, body["TransID"])] == [("D000001", 400)]
	state = driver_state(db, "D000001")
	assert state["current_balance"] == 3000 and state["left_to_target"] == 0
	assert state["payout_pending"] == 200 + 400
	assert check_books(db).clean


def test_a_driver_deactivated_in_between_sends_the_money_to_suspense(db, db_url, now):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", current_balance=100)
	db.commit()

	def deactivate(other):
		other.sql("update `tabTukTuk Driver` set status = 'Inactive' where name = 'D000001'")

	body = c2b_body("TT001", 400)
	outcome = c2b.process_confirmation(
		db, raw(body), settings=load_settings(db), now=now, on_step=_between_plan_and_lock(db_url, deactivate)
	)
	db.commit()

	assert outcome.status == LogStatus.UNALLOCATED and outcome.payout is None and outcome.driver is None
	assert "driver changed" in outcome.reason
	row = _transaction(db, body["TransID"])
	assert row["transaction_type"] == c2b.SUSPENSE_ROUTE and row["payment_status"] == "Unallocated"
	assert row["driver"] is None and row["driver_share"] == 0 and row["unallocated_reason"]
	assert _payouts(db, body["TransID"]) == []  # the payout queued before the lock is gone
	assert driver_state(db, "D000001")["current_balance"] == 100
	assert check_books(db).clean


def test_a_vehicle_reassigned_in_between_sends_the_money_to_suspense(db, db_url, now):
	make_vehicle(db, "TT001")
	make_vehicle(db, "TT002")
	make_driver(db, "D000001", "TT001")
	db.commit()

	def reassign(other):
		other.sql("update `tabTukTuk Driver` set assigned_tuktuk = 'TT002' where name = 'D000001'")

	body = c2b_body("TT001", 300)
	outcome = c2b.process_confirmation(
		db, raw(body), settings=load_settings(db), now=now, on_step=_between_plan_and_lock(db_url, reassign)
	)
	db.commit()

	assert outcome.status == LogStatus.UNALLOCATED and "assignment changed" in outcome.reason
	assert _payouts(db, body["TransID"]) == []
	assert driver_state(db, "D000001")["payout_pending"] == 0
	assert check_books(db).clean


def test_an_unchanged_plan_writes_each_row_once(db, now):
	"""No change in between: one transaction row, one payout, the voucher; nothing corrected."""
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001")
	db.commit()
	statements: list[str] = []
	original = db.sql

	def counting(query, values=None, as_dict=False):
		statements.append(" ".join(query.split())[:40])
		return original(query, values, as_dict)

	db.sql = counting
	outcome = c2b.process_confirmation(db, raw(c2b_body("TT001", 400)), settings=load_settings(db), now=now)
	db.sql = original
	db.commit()
	assert outcome.status == LogStatus.PROCESSED and outcome.payout
	assert not [s for s in statements if s.startswith(("update `tabTukTuk Transaction`", "delete"))]
	assert sum(s.startswith("insert into `tabTukTuk Payout`") for s in statements) == 1
	assert check_books(db).clean


def test_the_log_is_marked_with_the_outcome_and_one_attempt(db, now):
	"""The log is marked before the driver lock with the usual outcome and re-marked for any other:
	either way it ends with the outcome's status, reason and transaction, and one attempt."""
	from tuktuk_management.ledger.callback_log import (
		C2B_CONFIRMATION,
		process_logged_confirmation,
		store_callback,
	)

	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001")
	db.commit()
	first = c2b_body("TT001", 400)
	cases = [
		(first, LogStatus.PROCESSED, first["TransID"]),
		(first, LogStatus.DUPLICATE, first["TransID"]),
		({**first, "TransAmount": "500.00"}, LogStatus.CONFLICT, first["TransID"]),
		(c2b_body("NOWHERE", 100), LogStatus.UNALLOCATED, None),
		({**c2b_body("TT001", 100), "TransAmount": "-5"}, LogStatus.INVALID, None),
	]
	for body, status, transaction in cases:
		log = store_callback(db, endpoint=C2B_CONFIRMATION, raw_body=raw(body), received_at=now)
		db.commit()
		outcome = process_logged_confirmation(db, log, raw(body), settings=load_settings(db), now=now)
		db.commit()
		assert outcome.status == status
		row = db.sql(
			"select status, error, transaction, attempts from `tabTukTuk Callback Log` where name = %s",
			(log,),
			as_dict=True,
		)[0]
		expected_transaction = transaction or (body["TransID"] if status == LogStatus.UNALLOCATED else None)
		assert (row["status"], row["error"] or "", row["transaction"], row["attempts"]) == (
			status,
			outcome.reason,
			expected_transaction,
			1,
		), status
	assert check_books(db).clean


def test_a_redelivery_committed_just_before_our_insert_is_a_duplicate_counted_once(db, db_url, now):
	"""The same TransID committed by another connection between our look-up and our insert: the
	unique key stops ours, the log (marked Processed before) is re-marked Duplicate, one attempt."""
	from tuktuk_management.ledger.callback_log import (
		C2B_CONFIRMATION,
		process_logged_confirmation,
		store_callback,
	)

	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001")
	db.commit()
	body = raw(c2b_body("TT001", 400))
	log = store_callback(db, endpoint=C2B_CONFIRMATION, raw_body=body, received_at=now)
	db.commit()
	original, fired = db.sql, []

	def sql(query, values=None, as_dict=False):
		if query.startswith("insert into `tabTukTuk Transaction`") and not fired:
			fired.append(query)
			with MariaDB(db_url) as other:
				first = c2b.process_confirmation(other, body, settings=load_settings(other), now=now)
				assert first.status == LogStatus.PROCESSED
				other.commit()
		return original(query, values, as_dict)

	db.sql = sql
	try:
		outcome = process_logged_confirmation(db, log, body, settings=load_settings(db), now=now)
	finally:
		db.sql = original
	db.commit()
	assert fired and outcome.status == LogStatus.DUPLICATE
	assert db.sql("select status, attempts from `tabTukTuk Callback Log` where name = %s", (log,)) == (
		("Duplicate", 1),
	)
	assert db.sql("select count(*) from `tabTukTuk Payout`")[0][0] == 1
	assert driver_state(db, "D000001")["current_balance"] == 200
	assert check_books(db).clean
