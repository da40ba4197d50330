"""Leaving (ledger/termination.py): settlement arithmetic, the one unit of work, idempotency,
a failure at every step leaving nothing, the preview, reinstatement, several processes at once,
and the runner's commands."""

from __future__ import annotations

import json
import multiprocessing
import time
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.corrections_helpers import Injected, assert_books_clean, balances, fail_at, record_steps
from tests.factories import c2b_body, make_driver, make_vehicle, raw, set_settings
from tests.substitution_helpers import make_substitution
from tuktuk_management import cli
from tuktuk_management.ledger import c2b, corrections, termination
from tuktuk_management.ledger.corrections import CreditNote
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.owed.withdrawals import insert_request
from tuktuk_management.ledger.owed.words import WithdrawalSource, WithdrawalStatus
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.substitutions import record_assignment
from tuktuk_management.ledger.termination import ALREADY_TERMINATED, TERMINATED, settle
from tuktuk_management.standalone.db import MariaDB

AT = datetime(2026, 11, 21, 18, 0, 0)
LATER = datetime(2026, 11, 23, 9, 0, 0)
WORKERS = 4


# -- the settlement rule ---------------------------------------------------------------------------
def test_settlement_examples():
	assert settle(deposit_kes=800, payable_kes=300, in_flight_kes=0) == termination.Settlement(
		800, 300, 0, 800, 1100
	)
	assert settle(deposit_kes=-150, payable_kes=300, in_flight_kes=0).refund_kes == 0  # a debt stays owed
	assert settle(deposit_kes=-150, payable_kes=300, in_flight_kes=0).payout_kes == 300
	assert settle(deposit_kes=500, payable_kes=200, in_flight_kes=200).payout_kes == 500
	assert settle(deposit_kes=0, payable_kes=0, in_flight_kes=0).payout_kes == 0


@given(
	deposit=st.integers(-10_000, 100_000),
	payable=st.integers(0, 100_000),
	in_flight_share=st.integers(0, 100),
)
def test_settlement_never_refunds_below_zero_and_pays_what_is_not_already_with_mpesa(
	deposit, payable, in_flight_share
):
	in_flight = payable * in_flight_share // 100
	result = settle(deposit_kes=deposit, payable_kes=payable, in_flight_kes=in_flight)
	assert result.refund_kes == max(0, deposit) >= 0
	assert result.refund_kes <= max(deposit, 0)
	# Everything the driver is owed leaves exactly once: the final payout plus what is in flight.
	assert result.payout_kes + in_flight == payable + result.refund_kes
	assert result.payout_kes >= 0


# -- the unit of work -----------------------------------------------------------------------------
@pytest.fixture
def fleet(db):
	"""D000001 drives TT001 (target 1000, 50 %) with a deposit of 800 and 300 payable; D000002
	drives TT002 with nothing; D000003 is spare."""
	set_settings(db, global_daily_target=1000)
	make_vehicle(db, "TT001")
	make_vehicle(db, "TT002")
	make_driver(db, "D000001", "TT001", fare_percentage=50, current_deposit_balance=800, payout_pending=300)
	make_driver(db, "D000002", "TT002")
	make_driver(db, "D000003", None, status="Inactive")
	db.sql("update `tabTukTuk Driver` set user = 'driver1@example.com' where name = 'D000001'")
	db.commit()


def terminate(db, driver="D000001", now=AT, **kwargs):
	return termination.terminate_driver(
		db,
		driver,
		reason=kwargs.pop("reason", "Left the fleet"),
		settings=load_settings(db),
		now=now,
		**kwargs,
	)


def pay(db, account: str, amount_kes: int, now=AT):
	outcome = c2b.process_confirmation(db, c2b_body(account, amount_kes), settings=load_settings(db), now=now)
	db.commit()
	return outcome


def payouts(db, driver="D000001") -> list[tuple]:
	return [
		(status, to_kes(amount))
		for status, amount in db.sql(
			"select status, amount from `tabTukTuk Payout` where driver = %s order by status, amount",
			(driver,),
		)
	]


def snapshot(db) -> dict:
	"""Everything a termination may change."""
	tables = (
		"TukTuk Ledger Entry",
		"TukTuk Payout",
		"TukTuk Daily Close",
		"TukTuk Termination",
		"TukTuk Vehicle Assignment",
	)
	return {
		"counts": {t: db.sql(f"select count(*) from `tab{t}`")[0][0] for t in tables},
		"drivers": db.sql(
			"""select name, status, assigned_tuktuk, terminated_on, termination_reason, current_balance,
			current_deposit_balance, payout_pending, consecutive_misses, last_close_date
			from `tabTukTuk Driver` order by name"""
		),
		"payouts": db.sql("select name, status, amount from `tabTukTuk Payout` order by name"),
		"requests": db.sql("select name, status from `tabTukTuk Withdrawal Request` order by name"),
		"substitutions": db.sql(
			"select name, status, from_date, to_date from `tabTukTuk Substitution` order by name"
		),
		"assignments": db.sql("select name, to_datetime from `tabTukTuk Vehicle Assignment` order by name"),
	}


def test_termination_closes_refunds_pays_once_and_frees_the_vehicle(db, fleet):
	outcome = pay(db, "TT001", 400)  # 200 toward the target, 200 share: payout queued
	assert payouts(db) == [("Queued", 200)]
	result = terminate(db)
	db.commit()

	assert result.status == TERMINATED and result.termination == "D000001-TERM-1"
	assert result.close["status"] == "Closed" and result.close["collected_kes"] == 200
	assert result.close["shortfall_kes"] == 800 and not result.close["target_met"]
	assert result.settlement == termination.Settlement(
		deposit_kes=800, payable_kes=500, in_flight_kes=0, refund_kes=800, payout_kes=1300
	)
	assert (result.vehicle, result.user) == ("TT001", "driver1@example.com")
	# The share's payout is replaced by the one final payout of everything owed.
	assert payouts(db) == [("Cancelled", 200), ("Queued", 1300)]
	assert result.cancelled_payouts == [outcome.payout]
	assert balances(db, "D000001") == {"target": 0, "deposit": 0, "payable": 1300, "left_to_target": 1800}
	lines = db.sql(
		"""select account, debit, credit from `tabTukTuk Ledger Entry`
		where voucher_type = 'TukTuk Termination' and voucher_no = %s order by account""",
		(result.termination,),
	)
	assert [(a, to_kes(d), to_kes(c)) for a, d, c in lines] == [("deposit", 800, 0), ("payable", 0, 800)]
	driver = db.sql(
		"""select status, assigned_tuktuk, terminated_on, termination_reason, last_close_date
		from `tabTukTuk Driver` where name = 'D000001'"""
	)[0]
	assert driver[:2] == ("Terminated", None) and str(driver[2]) == "2026-11-21"
	assert driver[3] == "Left the fleet" and str(driver[4]) == "2026-11-21"
	record = db.sql(
		"""select driver, refund_kes, payout_kes, payout, vehicle, user, close_outcome
		from `tabTukTuk Termination` where name = %s""",
		(result.termination,),
		as_dict=True,
	)[0]
	assert (record["driver"], to_kes(record["refund_kes"]), to_kes(record["payout_kes"])) == (
		"D000001",
		800,
		1300,
	)
	assert (record["payout"], record["vehicle"], record["close_outcome"]) == (
		result.payout,
		"TT001",
		"Closed: target missed",
	)
	assert_books_clean(db)
	# The vehicle is free: a payment to it now goes to suspense, the terminated driver gets nothing.
	later = pay(db, "TT001", 100, now=LATER)
	assert later.status == "Unallocated"
	assert_books_clean(db)


def test_refund_is_the_deposit_after_documented_deductions_and_listed(db, fleet):
	damage = CreditNote(
		name="CN-DAMAGE",
		correction_type=corrections.BALANCE_ADJUSTMENT,
		driver="D000001",
		amount_kes=300,
		driver_account="deposit",
		direction=corrections.DECREASE,
		counter_account="revenue",
		reason_code="Damage charge",
		remarks="Broken mirror",
	)
	corrections.submit_credit_note(db, damage, settings=load_settings(db), now=AT)
	db.commit()
	preview = termination.preview_termination(db, "D000001", settings=load_settings(db), now=AT)
	db.rollback()
	assert preview["settlement"]["refund_kes"] == 500
	assert preview["deposit"]["paid_in_kes"] == 800 and preview["deposit"]["taken_out_kes"] == 300
	assert [
		(d["voucher_type"], d["voucher_no"], d["amount_kes"]) for d in preview["deposit"]["deductions"]
	] == [("TukTuk Credit Note", "CN-DAMAGE", 300)]
	result = terminate(db)
	db.commit()
	assert result.settlement.refund_kes == 500 and result.settlement.payout_kes == 800
	assert_books_clean(db)


def test_shortfall_taken_from_the_deposit_by_the_final_close_is_not_refunded(db, fleet):
	set_settings(db, deduct_shortfall_from_deposit=1)
	db.commit()
	result = terminate(db)
	db.commit()
	# Nothing collected today: the 1000 shortfall takes the whole deposit of 800 first.
	assert result.close["deposit_deducted_kes"] == 800
	assert result.settlement.refund_kes == 0 and result.settlement.payout_kes == 300
	assert payouts(db) == [("Queued", 300)]
	assert_books_clean(db)


def test_a_deposit_in_debt_is_never_refunded_below_zero(db):
	set_settings(db, global_daily_target=1000)
	make_driver(db, "D000009", None, status="Inactive", current_deposit_balance=-150, payout_pending=40)
	db.commit()
	result = terminate(db, "D000009")
	db.commit()
	assert result.close["status"] == "Not Due"  # an Inactive driver is not judged
	assert result.settlement.refund_kes == 0 and result.settlement.payout_kes == 40
	assert balances(db, "D000009")["deposit"] == -150  # still owed; the record shows it
	assert_books_clean(db)


def test_payouts_already_with_mpesa_are_left_to_their_lifecycle(db, fleet):
	sent = pay(db, "TT001", 400).payout
	db.sql("update `tabTukTuk Payout` set status = 'Sent' where name = %s", (sent,))
	db.commit()
	result = terminate(db)
	db.commit()
	assert result.in_flight_payouts == [sent] and result.cancelled_payouts == []
	assert result.settlement.in_flight_kes == 200 and result.settlement.payout_kes == 300 + 800
	assert sorted(payouts(db)) == [("Queued", 1100), ("Sent", 200)]
	assert_books_clean(db)


def test_nothing_owed_queues_no_payout(db, fleet):
	result = terminate(db, "D000002")
	db.commit()
	assert result.status == TERMINATED and result.payout is None and result.settlement.payout_kes == 0
	assert payouts(db, "D000002") == []
	assert (
		db.sql("select count(*) from `tabTukTuk Ledger Entry` where voucher_type = 'TukTuk Termination'")[0][
			0
		]
		== 0
	)
	assert_books_clean(db)


def test_second_termination_changes_nothing_and_says_so(db, fleet):
	first = terminate(db)
	db.commit()
	before = snapshot(db)
	second = terminate(db, now=LATER, reason="Again")
	db.commit()
	assert second.status == ALREADY_TERMINATED and second.termination == first.termination
	assert second.settlement is None and second.payout is None
	assert snapshot(db) == before


def test_reason_is_required(db, fleet):
	before = snapshot(db)
	with pytest.raises(termination.TerminationRefused, match="reason"):
		terminate(db, reason="  ")
	with pytest.raises(termination.DriverNotFound):
		terminate(db, "D999999")
	db.rollback()
	assert snapshot(db) == before


def test_termination_rejects_waiting_requests_ends_substitutions_and_closes_the_assignment(db, fleet):
	waiting = insert_request(
		db,
		driver="D000001",
		amount_kes=200,
		source=WithdrawalSource.DRIVER_REQUEST,
		status=WithdrawalStatus.REQUESTED,
		now=AT,
		user="driver1@example.com",
	)
	record_assignment(db, "D000001", "TT001", now=datetime(2026, 11, 1, 8, 0, 0))
	# D000001 relieves D000002 on TT002 today and tomorrow; D000003 is to relieve D000001 next week.
	running = make_substitution(db, "TT002", "D000002", "D000001", AT.date(), AT.date() + timedelta(days=1))
	upcoming = make_substitution(
		db, "TT001", "D000001", "D000003", AT.date() + timedelta(days=7), AT.date() + timedelta(days=9)
	)
	earlier = make_substitution(
		db, "TT001", "D000001", "D000003", AT.date() - timedelta(days=9), AT.date() - timedelta(days=7)
	)
	db.commit()

	result = terminate(db)
	db.commit()

	assert result.status == TERMINATED
	assert db.sql("select status from `tabTukTuk Withdrawal Request` where name = %s", (waiting,)) == (
		("Rejected",),
	)
	subs = {
		name: (status, str(to_date))
		for name, status, to_date in db.sql("select name, status, to_date from `tabTukTuk Substitution`")
	}
	assert subs[running] == ("Active", str(AT.date()))  # ends today, its payments keep their history
	assert subs[upcoming][0] == "Cancelled"
	assert subs[earlier] == ("Active", str(AT.date() - timedelta(days=7)))  # history untouched
	assert db.sql(
		"select count(*) from `tabTukTuk Vehicle Assignment` where driver = 'D000001' and to_datetime is null"
	) == ((0,),)
	# The whole payable (300) and the deposit (800) leave in the one final payout, not twice.
	assert payouts(db) == [("Queued", 1100)]
	assert_books_clean(db)


def all_steps(db) -> list[str]:
	reached: list[str] = []
	db.savepoint("steps")
	terminate(db, on_step=record_steps(reached))
	db.rollback(save_point="steps")
	db.rollback()
	return reached


def test_a_failure_at_every_step_leaves_nothing(db, fleet):
	pay(db, "TT001", 400)
	steps = all_steps(db)
	assert steps[0] == "driver_locked" and steps[-1] == "driver_updated"
	assert {"close:daily_close_inserted", "refund:ledger_lines_inserted", "payouts_cancelled"} <= set(steps)
	before = snapshot(db)
	for step in steps:
		reached: list[str] = []
		with pytest.raises(Injected):
			terminate(db, on_step=fail_at(step, reached))
		assert reached[-1] == step
		assert snapshot(db) == before, step  # rolled back to the savepoint, before the caller's rollback
		db.rollback()
		assert snapshot(db) == before, step
	result = terminate(db)
	db.commit()
	assert result.status == TERMINATED
	assert_books_clean(db)


def test_preview_is_what_the_termination_then_does_and_writes_nothing(db, fleet):
	pay(db, "TT001", 400)
	before = snapshot(db)
	preview = termination.preview_termination(db, "D000001", settings=load_settings(db), now=AT)
	db.commit()
	assert snapshot(db) == before
	assert preview["preview"] and preview["status"] == TERMINATED
	result = terminate(db).as_dict()
	db.commit()
	for key in ("close", "settlement", "vehicle", "user", "cancelled_payouts", "termination"):
		assert preview[key] == result[key], key
	assert preview["deposit"]["balance_kes"] == 800


def test_reinstate_sets_inactive_keeps_history_and_a_new_termination_refunds_only_new_money(db, fleet):
	first = terminate(db)
	db.commit()
	reply = termination.reinstate_driver(db, "D000001", now=LATER)
	db.commit()
	assert reply == {
		"driver": "D000001",
		"status": "Reinstated",
		"driver_status": "Inactive",
		"termination": first.termination,
		"user": "driver1@example.com",
	}
	assert (
		db.sql("select status, terminated_on from `tabTukTuk Driver` where name = 'D000001'")[0][0]
		== "Inactive"
	)
	assert db.sql("select reinstated_at from `tabTukTuk Termination`")[0][0] == LATER
	with pytest.raises(termination.TerminationRefused, match="not Terminated"):
		termination.reinstate_driver(db, "D000001", now=LATER)
	db.rollback()
	second = terminate(db, now=LATER)
	db.commit()
	assert second.termination == "D000001-TERM-2"
	assert second.settlement.refund_kes == 0  # the deposit was refunded once, by the first
	# The first final payout was still Queued: it is replaced by one payout of the same payable.
	assert second.settlement.payable_kes == 1100 and second.cancelled_payouts == [first.payout]
	assert payouts(db) == [("Cancelled", 1100), ("Queued", 1100)]
	assert_books_clean(db)


# -- several processes ----------------------------------------------------------------------------
def _terminate_in_process(url, results, at=None):
	db = MariaDB(url)
	try:
		settings = load_settings(db)
		now = at or AT
		result = run_with_retry(
			lambda: termination.terminate_driver(db, "D000001", reason="Left", settings=settings, now=now),
			rollback=db.rollback,
		)
		db.commit()
		results.put(result.status)
	except Exception as exc:  # reported to the test, which fails on it
		results.put(f"error: {exc}")
	finally:
		db.close()


def test_concurrent_terminations_refund_once(db, db_url, fleet):
	pay(db, "TT001", 400)
	context = multiprocessing.get_context("fork")
	results = context.Queue()
	processes = [
		context.Process(target=_terminate_in_process, args=(db_url, results)) for _ in range(WORKERS)
	]
	for process in processes:
		process.start()
	statuses = sorted(results.get(timeout=120) for _ in processes)
	for process in processes:
		process.join(60)
		assert process.exitcode == 0
	assert statuses == sorted([TERMINATED] + [ALREADY_TERMINATED] * (WORKERS - 1))
	db.rollback()
	assert db.sql("select count(*) from `tabTukTuk Termination`")[0][0] == 1
	refund_lines = db.sql(
		"select count(*) from `tabTukTuk Ledger Entry` where voucher_type = 'TukTuk Termination'"
	)[0][0]
	assert refund_lines == 2
	assert payouts(db) == [("Cancelled", 200), ("Queued", 1300)]
	assert db.sql("select count(*) from `tabTukTuk Daily Close` where driver = 'D000001'")[0][0] == 1
	assert_books_clean(db)


def _pay_in_process(url, bodies, results):
	"""Deliver each body as the webhook does (callback log stored, applied with deadlock retry)."""
	db = MariaDB(url)
	try:
		results.put([cli.handle_confirmation(db, raw(body)) for body in bodies])
	except Exception as exc:
		results.put([f"error: {exc}"])
	finally:
		db.close()


def test_payments_racing_a_termination_are_settled_or_go_to_suspense(db, db_url, fleet):
	"""Payments to the vehicle while the driver is terminated: each one is either in the
	settlement (credited before the termination's lock) or in suspense (after it); none reaches
	the driver afterwards, so the final payout is exactly what the driver is owed at the end."""
	bodies = [[c2b_body("TT001", 100) for _ in range(15)] for _ in range(3)]
	context = multiprocessing.get_context("fork")
	results = context.Queue()
	payers = [context.Process(target=_pay_in_process, args=(db_url, chunk, results)) for chunk in bodies]
	now = cli.site_now(load_settings(db).site_timezone)  # the payments' clock (the webhook's)
	terminator = context.Process(target=_terminate_in_process, args=(db_url, results, now))
	for process in payers:
		process.start()
	deadline = time.monotonic() + 60
	while time.monotonic() < deadline:  # terminate while payments are flowing
		db.rollback()
		if db.sql("select count(*) from `tabTukTuk Transaction`")[0][0] >= 12:
			break
		time.sleep(0.01)
	terminator.start()
	outcomes = [results.get(timeout=120) for _ in range(4)]
	for process in [*payers, terminator]:
		process.join(60)
		assert process.exitcode == 0
	assert TERMINATED in outcomes
	statuses = [status for outcome in outcomes if isinstance(outcome, list) for status in outcome]
	assert len(statuses) == 45 and set(statuses) <= {"Processed", "Unallocated"}, statuses
	db.rollback()
	final = db.sql(
		"select payout_kes, payout from `tabTukTuk Termination` where driver = 'D000001'", as_dict=True
	)[0]
	state = balances(db, "D000001")
	assert (state["target"], state["deposit"]) == (0, 0)
	assert state["payable"] == to_kes(final["payout_kes"])  # nothing credited after the settlement
	assert payouts(db).count(("Queued", to_kes(final["payout_kes"]))) == 1
	credited = db.sql(
		"select count(*) from `tabTukTuk Transaction` where driver = 'D000001' and transaction_type = 'Payment'"
	)[0][0]
	assert credited == statuses.count("Processed")
	assert_books_clean(db)


# -- the runner -----------------------------------------------------------------------------------
def test_runner_terminate_preview_and_reinstate(db, db_url, fleet, capsys):
	args = ["--db-url", f"mysql://{db_url.user}@{db_url.host}:{db_url.port}/{db_url.database}"]
	assert cli.main([*args, "preview-termination", "D000001", "--at", "2026-11-21 18:00:00"]) == 0
	preview = json.loads(capsys.readouterr().out)
	assert preview["preview"] and preview["settlement"]["payout_kes"] == 1100
	assert cli.main([*args, "terminate", "D000001", "--reason", "Left", "--at", "2026-11-21 18:00:00"]) == 0
	done = json.loads(capsys.readouterr().out)
	assert done["status"] == TERMINATED and done["settlement"] == preview["settlement"]
	assert cli.main([*args, "terminate", "D000001", "--reason", "Left"]) == 0
	assert json.loads(capsys.readouterr().out)["status"] == ALREADY_TERMINATED
	assert cli.main([*args, "reinstate", "D000001"]) == 0
	assert json.loads(capsys.readouterr().out)["driver_status"] == "Inactive"
	assert cli.main([*args, "reinstate", "D000001"]) == 2
	assert "not Terminated" in json.loads(capsys.readouterr().out)["error"]
	db.rollback()
	assert_books_clean(db)
