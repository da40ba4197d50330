"""The one ledger writer refuses bad vouchers; deadlock/lock-wait errors are retried, bounded."""

from __future__ import annotations

import pytest

from tests.factories import counts, driver_state, make_driver
from tuktuk_management.ledger.database import affected_rows, is_retryable, mariadb_errno, run_with_retry
from tuktuk_management.ledger.drivers import LockedDrivers, lock_drivers
from tuktuk_management.ledger.money import NotWholeShillings, to_kes
from tuktuk_management.ledger.writer import DriverNotLocked, PostingLine, UnbalancedVoucher, post_voucher
from tuktuk_management.standalone.db import MariaDB


def test_unbalanced_voucher_is_refused_with_the_difference_and_writes_nothing(db, now):
	make_driver(db, "D000001")
	db.commit()
	before = counts(db)
	locked = lock_drivers(db, ["D000001"])
	with pytest.raises(
		UnbalancedVoucher, match=r"^TukTuk Driver D000001 is not balanced: .*difference 10 KES"
	):
		post_voucher(
			db,
			voucher_type="TukTuk Driver",
			voucher_no="D000001",
			lines=[
				PostingLine("paybill", debit_kes=110),
				PostingLine("target", credit_kes=100, party="D000001"),
			],
			posting_datetime=now,
			locked=locked,
		)
	db.commit()
	assert counts(db) == before and driver_state(db, "D000001")["current_balance"] == 0


def test_posting_to_an_unlocked_driver_is_refused(db, now):
	make_driver(db, "D000001")
	with pytest.raises(DriverNotLocked):
		post_voucher(
			db,
			voucher_type="TukTuk Driver",
			voucher_no="D000001",
			lines=[PostingLine("paybill", debit_kes=5), PostingLine("target", credit_kes=5, party="D000001")],
			posting_datetime=now,
			locked=LockedDrivers(),
		)


@pytest.mark.parametrize(
	"kwargs",
	[
		{"account": "paybill", "debit_kes": 0, "credit_kes": 0},
		{"account": "paybill", "debit_kes": 5, "credit_kes": 5},
		{"account": "paybill", "debit_kes": -5},
		{"account": "target", "credit_kes": 5},  # driver account without party
		{"account": "suspense", "credit_kes": 5, "party": "D000001"},  # company account with party
		{"account": "bank", "credit_kes": 5},  # unknown account ("cash" is one now: deposit entries)
	],
)
def test_posting_line_invariants(kwargs):
	with pytest.raises(AssertionError):
		PostingLine(**kwargs)


def test_cached_balances_move_with_their_lines(db, now):
	make_driver(db, "D000001", current_deposit_balance=500)
	locked = lock_drivers(db, ["D000001"])
	post_voucher(
		db,
		voucher_type="TukTuk Driver",
		voucher_no="D000001",
		lines=[
			PostingLine("deposit", debit_kes=200, party="D000001"),
			PostingLine("target", credit_kes=150, party="D000001"),
			PostingLine("payable", credit_kes=50, party="D000001"),
		],
		posting_datetime=now,
		locked=locked,
		target_kes_by_driver={"D000001": 1000},
	)
	db.commit()
	assert driver_state(db, "D000001") == {
		"current_balance": 150,
		"left_to_target": 850,
		"current_deposit_balance": 300,
		"payout_pending": 50,
	}


@pytest.mark.parametrize(
	("value", "kes"), [(None, 0), ("", 0), (5, 5), ("5.00", 5), (3000.0, 3000), ("3000.000000000", 3000)]
)
def test_to_kes(value, kes):
	assert to_kes(value) == kes


@pytest.mark.parametrize("value", ["5.5", 2.5, "abc", True, "NaN"])
def test_to_kes_refuses_fractions_and_junk(value):
	with pytest.raises(NotWholeShillings):
		to_kes(value)


def test_real_lock_wait_timeout_is_recognised_and_retried(db, db_url):
	"""A real 1205 from MariaDB: the unit of work is rolled back and retried after the lock frees."""
	make_driver(db, "D000001")
	db.commit()
	holder = MariaDB(db_url)
	waiter = MariaDB(db_url)
	try:
		waiter.sql("set session innodb_lock_wait_timeout = 1")
		holder.sql("select name from `tabTukTuk Driver` where name = 'D000001' for update")
		attempts: list[int] = []

		def unit_of_work():
			attempts.append(1)
			return waiter.sql("select name from `tabTukTuk Driver` where name = 'D000001' for update")

		def rollback():
			waiter.rollback()
			holder.commit()  # the other transaction finishes while we back off

		with pytest.raises(Exception) as caught:
			unit_of_work()
		assert mariadb_errno(caught.value) == 1205 and is_retryable(caught.value)
		waiter.rollback()
		attempts.clear()
		rows = run_with_retry(unit_of_work, rollback=rollback, sleep=lambda _s: None)
		assert rows == (("D000001",),) and len(attempts) == 2
		waiter.rollback()
	finally:
		holder.close()
		waiter.close()


def test_retry_is_bounded_and_other_errors_are_not_retried():
	class Deadlock(Exception):
		pass

	calls: list[int] = []

	def always_deadlocks():
		calls.append(1)
		raise Deadlock(1213, "Deadlock found when trying to get lock")

	with pytest.raises(Deadlock):
		run_with_retry(always_deadlocks, rollback=lambda: None, attempts_max=4, sleep=lambda _s: None)
	assert len(calls) == 4

	calls.clear()

	def fails():
		calls.append(1)
		raise ValueError("not a lock problem")

	with pytest.raises(ValueError):
		run_with_retry(fails, rollback=lambda: None, sleep=lambda _s: None)
	assert len(calls) == 1


def test_errno_found_through_frappe_style_wrapping():
	class QueryDeadlockError(Exception):
		pass

	try:
		try:
			raise RuntimeError(1213, "Deadlock")
		except RuntimeError as inner:
			raise QueryDeadlockError(inner) from inner
	except QueryDeadlockError as wrapped:
		assert mariadb_errno(wrapped) == 1213


def test_affected_rows_is_part_of_the_database_protocol(db):
	make_driver(db, "D000001")
	make_driver(db, "D000002")
	db.sql("update `tabTukTuk Driver` set consecutive_misses = 1 where name in ('D000001', 'D000002')")
	assert db.affected_rows() == 2 == affected_rows(db)
	db.sql("update `tabTukTuk Driver` set consecutive_misses = 1 where name = 'D000001'")
	assert affected_rows(db) == 0  # the value did not change: MariaDB counts changed rows

	class FrappeLike:  # frappe.db keeps the cursor of its last statement and has no method
		_cursor = type("Cursor", (), {"rowcount": 3})()

	assert affected_rows(FrappeLike()) == 3
