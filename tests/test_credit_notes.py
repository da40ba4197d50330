"""Credit notes: postings of each type, limits against balances, cancel = appended reversal,
and a failure at each step leaving nothing behind."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from tests.corrections_helpers import Injected, assert_books_clean, balances, fail_at, snapshot
from tests.factories import c2b_body, make_driver, make_vehicle, set_settings
from tuktuk_management.ledger import c2b, corrections
from tuktuk_management.ledger.corrections import CreditNote
from tuktuk_management.ledger.postings import CorrectionRefused
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus

_names = itertools.count(1)
LATER = datetime(2026, 11, 22, 9, 0, 0)


def note(correction_type: str, amount_kes: int, driver: str = "D000001", **fields) -> CreditNote:
	return CreditNote(
		name=f"CN-{next(_names):05d}",
		correction_type=correction_type,
		driver=driver,
		amount_kes=amount_kes,
		**fields,
	)


def submit(db, credit_note: CreditNote, now, **kwargs):
	return corrections.submit_credit_note(db, credit_note, settings=load_settings(db), now=now, **kwargs)


def cancel(db, name: str, now=LATER, **kwargs):
	return corrections.cancel_credit_note(db, name, settings=load_settings(db), now=now, **kwargs)


def pay(db, account: str, amount_kes: int, now) -> c2b.C2BOutcome:
	outcome = c2b.process_confirmation(db, c2b_body(account, amount_kes), settings=load_settings(db), now=now)
	assert outcome.status in (LogStatus.PROCESSED, LogStatus.UNALLOCATED), outcome
	return outcome


@pytest.fixture
def fleet(db):
	"""D000001 drives TT001 (target 1000, 50 %), deposit 800; D000002 is spare."""
	set_settings(db, global_daily_target=1000)
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", current_balance=200, current_deposit_balance=800)
	make_driver(db, "D000002", None)
	db.commit()


def ledger_lines(db, voucher_no: str) -> list[tuple]:
	return [
		(account, party, int(debit), int(credit), is_reversal)
		for account, party, debit, credit, is_reversal in db.sql(
			"""select account, party, debit, credit, is_reversal from `tabTukTuk Ledger Entry`
			where voucher_type = 'TukTuk Credit Note' and voucher_no = %s order by is_reversal, account""",
			(voucher_no,),
		)
	]


def test_target_waiver_posts_and_cancel_appends_the_reversal(db, fleet, now):
	assert balances(db, "D000001")["left_to_target"] == 800
	waiver = note(corrections.TARGET_WAIVER, 300)
	posting = submit(db, waiver, now)
	db.commit()
	assert posting.target_kes == 300
	assert balances(db, "D000001") == {"target": 500, "deposit": 800, "payable": 0, "left_to_target": 500}
	assert ledger_lines(db, waiver.name) == [("revenue", None, 300, 0, 0), ("target", "D000001", 0, 300, 0)]
	assert_books_clean(db)

	cancel(db, waiver.name)
	db.commit()
	assert balances(db, "D000001") == {"target": 200, "deposit": 800, "payable": 0, "left_to_target": 800}
	lines = ledger_lines(db, waiver.name)
	assert lines[:2] == [
		("revenue", None, 300, 0, 0),
		("target", "D000001", 0, 300, 0),
	]  # originals untouched
	assert lines[2:] == [("revenue", None, 0, 300, 1), ("target", "D000001", 300, 0, 1)]
	reversal_dates = db.sql(
		"""select distinct posting_datetime from `tabTukTuk Ledger Entry`
		where voucher_no = %s and is_reversal = 1""",
		(waiver.name,),
	)
	assert [row[0] for row in reversal_dates] == [LATER]  # dated the day of cancellation
	assert db.sql("select docstatus from `tabTukTuk Credit Note` where name = %s", (waiver.name,))[0][0] == 2
	assert_books_clean(db)
	with pytest.raises(CorrectionRefused, match="not submitted"):
		cancel(db, waiver.name)


def test_waiver_cannot_exceed_what_the_driver_owes(db, fleet, now):
	before = snapshot(db)
	with pytest.raises(CorrectionRefused, match="owes 800 KES"):
		submit(db, note(corrections.TARGET_WAIVER, 801), now)
	db.rollback()
	assert snapshot(db) == before


def test_deposit_refund_paid_out_queues_a_payout_and_cancel_cancels_it(db, fleet, now):
	refund = note(corrections.DEPOSIT_REFUND, 500, refund_mode=corrections.PAY_OUT)
	posting = submit(db, refund, now)
	db.commit()
	assert balances(db, "D000001")["deposit"] == 300 and balances(db, "D000001")["payable"] == 500
	assert db.sql("select status, amount, driver from `tabTukTuk Payout` where name = %s", (posting.payout,))[
		0
	] == (
		"Queued",
		500,
		"D000001",
	)
	cancel(db, refund.name)
	db.commit()
	assert balances(db, "D000001")["deposit"] == 800 and balances(db, "D000001")["payable"] == 0
	assert (
		db.sql("select status from `tabTukTuk Payout` where name = %s", (posting.payout,))[0][0]
		== "Cancelled"
	)
	assert_books_clean(db)


def test_deposit_refund_sent_to_mpesa_cannot_be_cancelled(db, fleet, now):
	refund = note(corrections.DEPOSIT_REFUND, 500)
	posting = submit(db, refund, now)
	db.sql("update `tabTukTuk Payout` set status = 'Sent' where name = %s", (posting.payout,))
	db.commit()
	before = snapshot(db)
	with pytest.raises(CorrectionRefused, match="already been sent"):
		cancel(db, refund.name)
	db.rollback()
	assert snapshot(db) == before


def test_deposit_refund_cannot_exceed_the_deposit_and_settles_only_what_is_owed(db, fleet, now):
	with pytest.raises(CorrectionRefused, match="deposit is 800 KES"):
		submit(db, note(corrections.DEPOSIT_REFUND, 801), now)
	submit(db, note(corrections.TARGET_WAIVER, 300), now)  # now owes 500
	with pytest.raises(CorrectionRefused, match="owes 500 KES"):
		submit(db, note(corrections.DEPOSIT_REFUND, 501, refund_mode=corrections.SETTLE_SHORTFALL), now)
	settle = note(corrections.DEPOSIT_REFUND, 500, refund_mode=corrections.SETTLE_SHORTFALL)
	submit(db, settle, now)
	db.commit()
	assert balances(db, "D000001") == {"target": 1000, "deposit": 300, "payable": 0, "left_to_target": 0}
	assert db.sql("select count(*) from `tabTukTuk Payout`")[0][0] == 0
	assert_books_clean(db)


def test_payment_reversal_takes_target_then_unpaid_share_never_more_than_left(db, fleet, now):
	outcome = pay(db, "TT001", 400, now)  # 200 to target, 200 payable (payout queued)
	db.commit()
	assert (outcome.split.target_contribution_kes, outcome.split.driver_share_kes) == (200, 200)

	first = note(corrections.PAYMENT_REVERSAL, 150, transaction=outcome.transaction)
	posting = submit(db, first, now)
	db.commit()
	assert (posting.target_kes, posting.payable_kes, posting.payout) == (-150, 0, None)
	assert db.sql("select payment_status, reversed_kes from `tabTukTuk Transaction`")[0] == (
		"Partly Reversed",
		150,
	)

	second = note(corrections.PAYMENT_REVERSAL, 130, transaction=outcome.transaction)
	posting = submit(db, second, now)
	db.commit()
	# 50 of target left, then 80 of the unpaid share: the payout is cancelled and re-queued for 120.
	assert (posting.target_kes, posting.payable_kes) == (-50, -80)
	payouts = db.sql("select status, amount from `tabTukTuk Payout` order by creation, status")
	assert sorted(payouts) == [("Cancelled", 200), ("Queued", 120)]
	assert balances(db, "D000001")["payable"] == 120
	assert balances(db, "D000001")["target"] == 200  # opening 200 + 200 - 150 - 50

	with pytest.raises(CorrectionRefused, match="Only 120 KES is left"):
		submit(db, note(corrections.PAYMENT_REVERSAL, 121, transaction=outcome.transaction), now)
	db.rollback()
	last = note(corrections.PAYMENT_REVERSAL, 120, transaction=outcome.transaction)
	submit(db, last, now)
	db.commit()
	assert db.sql("select payment_status, reversed_kes from `tabTukTuk Transaction`")[0] == ("Reversed", 400)
	assert balances(db, "D000001")["payable"] == 0
	assert_books_clean(db)

	# Cancelling the middle one gives its share back to the driver as a new payout.
	cancel(db, second.name)
	db.commit()
	assert db.sql("select payment_status, reversed_kes from `tabTukTuk Transaction`")[0] == (
		"Partly Reversed",
		270,
	)
	assert balances(db, "D000001")["payable"] == 80
	assert ("Queued", 80) in db.sql("select status, amount from `tabTukTuk Payout`")
	cancel(db, first.name)
	cancel(db, last.name)
	db.commit()
	assert db.sql("select payment_status, reversed_kes from `tabTukTuk Transaction`")[0] == ("Completed", 0)
	assert balances(db, "D000001") == {"target": 400, "deposit": 800, "payable": 200, "left_to_target": 600}
	assert_books_clean(db)


def test_paid_share_cannot_be_reversed(db, fleet, now):
	outcome = pay(db, "TT001", 400, now)
	# Paid as a B2C result would (payable -> b2c posted), so reconciliation sees a real payment.
	from tuktuk_management.ledger import payouts

	payouts.mark_paid(
		db,
		payouts.read_payout(db, outcome.payout, for_update=True),
		receipt="SK00000001",
		result_code="0",
		result_desc="paid",
		now=now,
	)
	db.commit()
	with pytest.raises(CorrectionRefused, match="already been sent"):
		submit(db, note(corrections.PAYMENT_REVERSAL, 201, transaction=outcome.transaction), now)
	db.rollback()
	submit(db, note(corrections.PAYMENT_REVERSAL, 200, transaction=outcome.transaction), now)
	db.commit()
	assert_books_clean(db)


def test_reversal_after_the_day_closed_takes_the_rest_from_revenue(db, fleet, now):
	outcome = pay(db, "TT001", 400, now)
	# The day's collections moved to revenue (as daily close does): target back to 0.
	db.sql(
		"""insert into `tabTukTuk Ledger Entry` (name, creation, modified, owner, modified_by, posting_datetime,
		account, party_type, party, debit, credit, voucher_type, voucher_no) values
		('close1', %s, %s, 'x', 'x', %s, 'target', 'TukTuk Driver', 'D000001', 400, 0, 'TukTuk Driver', 'D000001'),
		('close2', %s, %s, 'x', 'x', %s, 'revenue', null, null, 0, 400, 'TukTuk Driver', 'D000001')""",
		(now,) * 6,
	)
	db.sql("update `tabTukTuk Driver` set current_balance = 0 where name = 'D000001'")
	db.commit()
	reversal = note(corrections.PAYMENT_REVERSAL, 150, transaction=outcome.transaction)
	posting = submit(db, reversal, now)
	db.commit()
	assert (posting.target_kes, posting.revenue_kes) == (0, 150)
	assert balances(db, "D000001")["target"] == 0
	assert_books_clean(db)


def test_payment_reversal_needs_the_payments_driver_and_a_completed_payment(db, fleet, now):
	outcome = pay(db, "TT001", 400, now)
	unallocated = pay(db, "NOWHERE", 100, now)
	db.commit()
	with pytest.raises(CorrectionRefused, match="paid to driver D000001"):
		submit(
			db, note(corrections.PAYMENT_REVERSAL, 10, driver="D000002", transaction=outcome.transaction), now
		)
	with pytest.raises(CorrectionRefused, match="Unallocated"):
		submit(db, note(corrections.PAYMENT_REVERSAL, 10, transaction=unallocated.transaction), now)
	with pytest.raises(CorrectionRefused, match="needs the transaction"):
		submit(db, note(corrections.PAYMENT_REVERSAL, 10), now)


def test_balance_adjustment_needs_a_reason_and_never_goes_below_zero(db, fleet, now):
	adjust = dict(driver_account="deposit", direction=corrections.DECREASE, counter_account="revenue")
	with pytest.raises(CorrectionRefused, match="reason code"):
		submit(db, note(corrections.BALANCE_ADJUSTMENT, 100, **adjust), now)
	with pytest.raises(CorrectionRefused, match="needs remarks"):
		submit(db, note(corrections.BALANCE_ADJUSTMENT, 100, reason_code="Other", **adjust), now)
	with pytest.raises(CorrectionRefused, match="below zero"):
		submit(db, note(corrections.BALANCE_ADJUSTMENT, 801, reason_code="Damage charge", **adjust), now)
	db.rollback()
	charge = note(corrections.BALANCE_ADJUSTMENT, 300, reason_code="Damage charge", **adjust)
	submit(db, charge, now)
	increase = note(
		corrections.BALANCE_ADJUSTMENT,
		50,
		driver_account="payable",
		direction=corrections.INCREASE,
		counter_account="suspense",
		reason_code="Data entry error",
	)
	submit(db, increase, now)
	db.commit()
	assert balances(db, "D000001")["deposit"] == 500 and balances(db, "D000001")["payable"] == 50
	assert ledger_lines(db, charge.name) == [("deposit", "D000001", 300, 0, 0), ("revenue", None, 0, 300, 0)]
	assert_books_clean(db)


def test_cancel_that_would_take_a_balance_below_zero_is_refused(db, fleet, now):
	waiver = note(corrections.TARGET_WAIVER, 300)
	submit(db, waiver, now)
	db.sql("update `tabTukTuk Driver` set current_balance = 0 where name = 'D000001'")  # day closed
	db.sql(
		"""insert into `tabTukTuk Ledger Entry` (name, creation, modified, owner, modified_by, posting_datetime,
		account, party_type, party, debit, credit, voucher_type, voucher_no) values
		('close1', %s, %s, 'x', 'x', %s, 'target', 'TukTuk Driver', 'D000001', 500, 0, 'TukTuk Driver', 'D000001'),
		('close2', %s, %s, 'x', 'x', %s, 'revenue', null, null, 0, 500, 'TukTuk Driver', 'D000001')""",
		(now,) * 6,
	)
	db.commit()
	before = snapshot(db)
	with pytest.raises(CorrectionRefused, match="below zero"):
		cancel(db, waiver.name)
	db.rollback()
	assert snapshot(db) == before


SUBMIT_STEPS = ["document_inserted", "ledger_lines_inserted", "caches_updated", "document_updated"]


def _notes_of_every_type(transaction: str) -> list[CreditNote]:
	return [
		note(corrections.TARGET_WAIVER, 100),
		note(corrections.DEPOSIT_REFUND, 100),
		note(corrections.DEPOSIT_REFUND, 100, refund_mode=corrections.SETTLE_SHORTFALL),
		note(corrections.PAYMENT_REVERSAL, 300, transaction=transaction),  # target and payable parts
		note(
			corrections.BALANCE_ADJUSTMENT,
			100,
			driver_account="target",
			direction=corrections.DECREASE,
			reason_code="Data entry error",
		),
	]


@pytest.mark.parametrize("step", SUBMIT_STEPS)
@pytest.mark.parametrize("kind", range(5), ids=["waiver", "refund", "settle", "reversal", "adjustment"])
def test_failure_at_each_submit_step_leaves_no_credit_note(db, fleet, now, kind, step):
	outcome = pay(db, "TT001", 400, now)
	db.commit()
	credit_note = _notes_of_every_type(outcome.transaction)[kind]
	before = snapshot(db)
	reached: list[str] = []
	with pytest.raises(Injected):
		submit(db, credit_note, now, on_step=fail_at(step, reached))
	assert reached[-1] == step
	assert snapshot(db) == before  # the savepoint alone undid everything, before any rollback
	db.rollback()
	assert snapshot(db) == before
	assert_books_clean(db)
	submit(db, credit_note, now)  # and it posts cleanly afterwards
	db.commit()
	assert_books_clean(db)


CANCEL_STEPS = ["document_cancelled", "ledger_lines_inserted", "caches_updated", "document_updated"]


@pytest.mark.parametrize("step", CANCEL_STEPS)
@pytest.mark.parametrize("kind", range(5), ids=["waiver", "refund", "settle", "reversal", "adjustment"])
def test_failure_at_each_cancel_step_leaves_the_credit_note_posted(db, fleet, now, kind, step):
	outcome = pay(db, "TT001", 400, now)
	credit_note = _notes_of_every_type(outcome.transaction)[kind]
	submit(db, credit_note, now)
	db.commit()
	before = snapshot(db)
	with pytest.raises(Injected):
		cancel(db, credit_note.name, on_step=fail_at(step, []))
	db.rollback()
	assert snapshot(db) == before
	cancel(db, credit_note.name)
	db.commit()
	assert_books_clean(db)
	lines = ledger_lines(db, credit_note.name)
	originals = [line[:4] for line in lines if not line[4]]
	reversals = [(account, party, credit, debit) for account, party, debit, credit, rev in lines if rev]
	assert sorted(reversals) == sorted(originals)  # each line reversed exactly once


def test_a_pre_ledger_transaction_cannot_be_reversed(db, fleet, now):
	"""A transaction recorded by the app this one replaced has no postings to reverse."""
	outcome = pay(db, "TT001", 400, now)
	db.sql("update `tabTukTuk Transaction` set pre_ledger = 1 where name = %s", (outcome.transaction,))
	db.commit()
	before = snapshot(db)
	with pytest.raises(CorrectionRefused, match="recorded by the app this one replaced"):
		submit(db, note(corrections.PAYMENT_REVERSAL, 100, transaction=outcome.transaction), now)
	db.rollback()
	assert snapshot(db) == before
