"""Allocating unallocated (suspense) payments, and recording payments whose callback never came."""

from __future__ import annotations

import pytest

from tests.corrections_helpers import Injected, assert_books_clean, balances, fail_at, snapshot
from tests.factories import c2b_body, make_driver, make_vehicle, next_trans_id, set_settings
from tuktuk_management.ledger import allocation, c2b
from tuktuk_management.ledger.postings import CorrectionRefused, NotFound
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus


@pytest.fixture
def fleet(db):
	"""TT001 driven by D000001 and TT002 by its twin D000002 (same balances); TT003 has no driver."""
	set_settings(db, global_daily_target=1000)
	for number in (1, 2):
		make_vehicle(db, f"TT00{number}")
		make_driver(db, f"D00000{number}", f"TT00{number}", current_balance=900, current_deposit_balance=100)
	make_vehicle(db, "TT003")
	make_driver(db, "D000009", None, status="Inactive")
	db.commit()


def pay(db, account: str, amount_kes: int, now) -> c2b.C2BOutcome:
	return c2b.process_confirmation(db, c2b_body(account, amount_kes), settings=load_settings(db), now=now)


def allocate(db, transaction: str, now, **kwargs) -> allocation.Allocation:
	return allocation.allocate_payment(db, transaction, settings=load_settings(db), now=now, **kwargs)


def test_allocation_posts_exactly_as_if_routed_there(db, fleet, now):
	stray = pay(db, "TT003", 400, now)
	assert stray.status == LogStatus.UNALLOCATED
	routed = pay(db, "TT002", 400, now)  # the twin gets the same payment routed normally
	db.commit()
	result = allocate(db, stray.transaction, now, driver="D000001")
	db.commit()
	assert result.split == routed.split  # crosses the target: 100 to target, 300 share
	assert (result.split.target_contribution_kes, result.split.driver_share_kes) == (100, 300)
	assert balances(db, "D000001") == balances(db, "D000002")
	payouts = db.sql("select driver, amount, status, transaction from `tabTukTuk Payout` order by driver")
	assert payouts == (
		("D000001", 300, "Queued", stray.transaction),
		("D000002", 300, "Queued", routed.transaction),
	)
	row = db.sql(
		"""select payment_status, transaction_type, driver, tuktuk, target_contribution, driver_share,
		allocated_at, unallocated_reason from `tabTukTuk Transaction` where name = %s""",
		(stray.transaction,),
	)[0]
	assert row[:6] == ("Allocated", "Payment", "D000001", "TT001", 100, 300)
	assert row[6] == now and "no active driver" in row[7]  # the original reason is kept
	suspense = db.sql(
		"select coalesce(sum(credit - debit), 0) from `tabTukTuk Ledger Entry` where account = 'suspense'"
	)
	assert int(suspense[0][0]) == 0
	assert_books_clean(db)


def test_allocation_with_instant_payouts_off_leaves_the_share_payable_as_a_routed_payment(db, fleet, now):
	set_settings(db, instant_payouts_enabled=0)
	db.commit()
	stray = pay(db, "TT003", 400, now)
	routed = pay(db, "TT002", 400, now)
	db.commit()
	result = allocate(db, stray.transaction, now, driver="D000001")
	db.commit()
	assert result.split == routed.split and result.payout is None
	assert balances(db, "D000001") == balances(db, "D000002")  # 300 share left in payout_pending
	assert db.sql("select count(*) from `tabTukTuk Payout`")[0][0] == 0
	assert_books_clean(db)


def test_allocation_to_a_vehicles_current_driver(db, fleet, now):
	stray = pay(db, "UNKNOWN", 200, now)
	db.commit()
	result = allocate(db, stray.transaction, now, vehicle="TT002")
	assert result.driver == "D000002"
	with pytest.raises(CorrectionRefused, match="no active driver"):
		allocate(db, pay(db, "NOPE", 50, now).transaction, now, vehicle="TT003")
	with pytest.raises(NotFound):
		allocate(db, stray.transaction, now, vehicle="TT404")


def test_repayment_allocated_to_the_sunny_ids_driver(db, fleet, now):
	stray = pay(db, "D000009", 300, now)  # the inactive driver's Sunny ID: suspense
	assert stray.status == LogStatus.UNALLOCATED
	db.sql("update `tabTukTuk Driver` set status = 'Active' where name = 'D000009'")
	result = allocate(db, stray.transaction, now, driver="D000009")
	db.commit()
	assert result.kind == c2b.REPAYMENT
	assert (result.split.target_contribution_kes, result.split.deposit_contribution_kes) == (300, 0)
	assert result.payout is None
	assert_books_clean(db)


def test_allocation_happens_once(db, fleet, now):
	stray = pay(db, "UNKNOWN", 200, now)
	allocate(db, stray.transaction, now, driver="D000001")
	db.commit()
	before = snapshot(db)
	with pytest.raises(allocation.AlreadyAllocated, match="Allocated to driver D000001"):
		allocate(db, stray.transaction, now, driver="D000002")
	with pytest.raises(allocation.AlreadyAllocated, match="Completed"):
		allocate(db, pay(db, "TT001", 10, now).transaction, now, driver="D000002")
	db.rollback()
	assert snapshot(db) == before


def test_refusals(db, fleet, now):
	stray = pay(db, "UNKNOWN", 200, now)
	db.commit()
	before = snapshot(db)
	with pytest.raises(CorrectionRefused, match="is Inactive"):
		allocate(db, stray.transaction, now, driver="D000009")
	with pytest.raises(NotFound):
		allocate(db, stray.transaction, now, driver="D404404")
	with pytest.raises(NotFound):
		allocate(db, "NOSUCHTRANS", now, driver="D000001")
	with pytest.raises(CorrectionRefused, match="either a driver or a vehicle"):
		allocate(db, stray.transaction, now, driver="D000001", vehicle="TT001")
	db.rollback()
	assert snapshot(db) == before


ALLOCATION_STEPS = ["ledger_lines_inserted", "caches_updated", "payout_queued", "transaction_updated"]


@pytest.mark.parametrize("step", ALLOCATION_STEPS)
def test_failure_at_each_allocation_step_persists_nothing(db, fleet, now, step):
	stray = pay(db, "UNKNOWN", 400, now)
	db.commit()
	before = snapshot(db)
	reached: list[str] = []
	with pytest.raises(Injected):
		allocate(db, stray.transaction, now, driver="D000001", on_step=fail_at(step, reached))
	assert reached[-1] == step
	assert snapshot(db) == before
	db.rollback()
	assert snapshot(db) == before
	allocate(db, stray.transaction, now, driver="D000001")
	db.commit()
	assert_books_clean(db)


def record(db, now, trans_id, amount_kes=250, account="TT001"):
	return allocation.record_missed_payment(
		db,
		trans_id=trans_id,
		amount_kes=amount_kes,
		account=account,
		trans_time="20261121101500",
		settings=load_settings(db),
		now=now,
	)


def test_missed_payment_is_recorded_once_and_a_late_callback_is_a_duplicate(db, fleet, now):
	trans_id = next_trans_id()
	first = record(db, now, trans_id)
	db.commit()
	assert first.status == LogStatus.PROCESSED and first.driver == "D000001"
	assert record(db, now, trans_id).status == LogStatus.DUPLICATE
	assert record(db, now, trans_id, amount_kes=251).status == LogStatus.CONFLICT
	late = c2b.process_confirmation(db, c2b_body("TT001", 250, trans_id), settings=load_settings(db), now=now)
	assert late.status == LogStatus.DUPLICATE
	assert db.sql("select count(*) from `tabTukTuk Transaction`")[0][0] == 1
	assert_books_clean(db)


def test_missed_payment_to_an_unknown_account_goes_to_suspense_then_can_be_allocated(db, fleet, now):
	outcome = record(db, now, next_trans_id(), account="WRONG")
	assert outcome.status == LogStatus.UNALLOCATED
	allocate(db, outcome.transaction, now, driver="D000001")
	db.commit()
	assert_books_clean(db)
	assert record(db, now, "BAD ID!").status == LogStatus.INVALID
