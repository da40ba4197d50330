"""Paying out what is owed: withdrawal limits, auto-approval, one payout per request and pay-now
never twice under concurrent processes, the sweep, statement lines; against a real MariaDB."""

from __future__ import annotations

import multiprocessing
from datetime import date, datetime, time, timedelta

import pytest

from tests.corrections_helpers import Injected, assert_books_clean, fail_at, snapshot
from tests.factories import make_driver, set_settings
from tuktuk_management.ledger import owed, payouts
from tuktuk_management.ledger.owed import WithdrawalRefused, WithdrawalSource, WithdrawalStatus
from tuktuk_management.ledger.owed.statement import payout_activity
from tuktuk_management.ledger.postings import NotFound
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.standalone.db import MariaDB

NOW = datetime(2026, 11, 21, 12, 0, 0)
WORKERS = 6


@pytest.fixture
def fleet(db):
	set_settings(
		db,
		withdrawal_minimum_kes=100,
		withdrawal_max_per_day_kes=1000,
		withdrawal_cooldown_minutes=30,
		withdrawal_auto_approve_max_kes=0,
	)
	make_driver(db, "D000001", payout_pending=2000)
	make_driver(db, "D000002", payout_pending=300)
	make_driver(db, "D000003", payout_pending=0)
	db.commit()


def money(db):
	return owed.load_money_settings(db)


def request(db, driver="D000001", amount_kes=200, now=NOW):
	return owed.request_withdrawal(
		db, driver=driver, amount_kes=amount_kes, settings=money(db), now=now, user="driver@example.com"
	)


def payout_rows(db, driver: str) -> list[tuple]:
	return [
		(status, int(amount))
		for status, amount in db.sql(
			"select status, amount from `tabTukTuk Payout` where driver = %s order by creation, name",
			(driver,),
		)
	]


def test_minimum_cooldown_day_limit_and_available(db, fleet):
	with pytest.raises(WithdrawalRefused, match="smallest withdrawal is 100"):
		request(db, amount_kes=99)
	first = request(db, amount_kes=600)
	assert (first.status, first.payout) == (WithdrawalStatus.REQUESTED, None)
	with pytest.raises(WithdrawalRefused, match="Wait 30 more minute"):
		request(db, amount_kes=100, now=NOW + timedelta(seconds=1))
	with pytest.raises(WithdrawalRefused, match="Wait 1 more minute"):
		request(db, amount_kes=100, now=NOW + timedelta(minutes=29, seconds=30))
	with pytest.raises(WithdrawalRefused, match="1000 KES a day; 400 KES is left"):
		request(db, amount_kes=401, now=NOW + timedelta(minutes=30))
	second = request(db, amount_kes=400, now=NOW + timedelta(minutes=30))
	# The next calendar day has its own limit; what is available is payable less what is reserved.
	tomorrow = datetime.combine(NOW.date() + timedelta(days=1), time(8, 0))
	set_settings(db, withdrawal_max_per_day_kes=0)  # 0: no daily limit
	with pytest.raises(WithdrawalRefused, match="Only 1000 KES can be paid out now"):
		request(db, amount_kes=1001, now=tomorrow)
	db.commit()
	owed.reject_withdrawal(db, first.name, reason="not today", now=tomorrow, user="manager@example.com")
	assert request(db, amount_kes=1000, now=tomorrow).status == WithdrawalStatus.REQUESTED
	assert second.status == WithdrawalStatus.REQUESTED and payout_rows(db, "D000001") == []
	with pytest.raises(WithdrawalRefused, match="Only 300 KES"):
		request(db, driver="D000002", amount_kes=301)
	db.commit()


def test_a_rejected_request_does_not_count_toward_the_day(db, fleet):
	first = request(db, amount_kes=1000)
	owed.reject_withdrawal(db, first.name, reason="typo", now=NOW, user="manager@example.com")
	assert request(db, amount_kes=1000, now=NOW + timedelta(minutes=31)).status == WithdrawalStatus.REQUESTED


def test_auto_approve_threshold_queues_one_payout(db, fleet):
	set_settings(db, withdrawal_auto_approve_max_kes=250)
	small = request(db, amount_kes=250)
	assert small.status == WithdrawalStatus.APPROVED and small.payout
	big = request(db, amount_kes=251, now=NOW + timedelta(hours=1))
	assert big.status == WithdrawalStatus.REQUESTED and big.payout is None
	assert payout_rows(db, "D000001") == [("Queued", 250)]
	decided = db.sql(
		"select decided_by, payout from `tabTukTuk Withdrawal Request` where name = %s", (small.name,)
	)
	assert decided[0] == ("Automatic", small.payout)
	row = payouts.read_payout(db, small.payout)
	assert row.originator_conversation_id == f"TTK-{small.payout}" and row.driver == "D000001"
	db.commit()
	assert_books_clean(db)


def test_approve_is_idempotent_and_rechecks_available_reject_rules(db, fleet):
	asked = request(db, amount_kes=700)
	approved = owed.approve_withdrawal(db, asked.name, now=NOW, user="manager@example.com")
	again = owed.approve_withdrawal(db, asked.name, now=NOW, user="other@example.com")
	assert (approved.replayed, again.replayed, again.payout) == (False, True, approved.payout)
	assert payout_rows(db, "D000001") == [("Queued", 700)]
	with pytest.raises(WithdrawalRefused, match="cancel its payout"):
		owed.reject_withdrawal(db, asked.name, reason="no", now=NOW, user="manager@example.com")
	other = request(db, driver="D000002", amount_kes=300)
	# Meanwhile the money left by another way (a manager's pay now): approval is re-checked.
	db.sql("update `tabTukTuk Withdrawal Request` set status = 'Rejected' where name = %s", (other.name,))
	owed.pay_now(db, driver="D000002", amount_kes=None, now=NOW, user="manager@example.com")
	db.sql("update `tabTukTuk Withdrawal Request` set status = 'Requested' where name = %s", (other.name,))
	with pytest.raises(WithdrawalRefused, match="Only 0 KES"):
		owed.approve_withdrawal(db, other.name, now=NOW, user="manager@example.com")
	rejected = owed.reject_withdrawal(
		db, other.name, reason="paid already", now=NOW, user="manager@example.com"
	)
	assert owed.reject_withdrawal(db, other.name, reason="x", now=NOW, user="m").replayed
	with pytest.raises(WithdrawalRefused, match="Rejected; it cannot be approved"):
		owed.approve_withdrawal(db, rejected.name, now=NOW, user="manager@example.com")
	with pytest.raises(WithdrawalRefused, match="reason"):
		owed.reject_withdrawal(db, other.name, reason=" ", now=NOW, user="m")
	with pytest.raises(NotFound):
		owed.approve_withdrawal(db, "nope", now=NOW, user="m")
	db.commit()


def test_pay_now_whole_or_part_and_what_is_already_on_its_way(db, fleet):
	part = owed.pay_now(db, driver="D000001", amount_kes=500, now=NOW, user="manager@example.com")
	rest = owed.pay_now(db, driver="D000001", now=NOW, user="manager@example.com")
	assert (part.amount_kes, rest.amount_kes) == (500, 1500)
	with pytest.raises(WithdrawalRefused, match="Nothing to pay"):
		owed.pay_now(db, driver="D000001", now=NOW, user="manager@example.com")
	with pytest.raises(WithdrawalRefused, match="Nothing to pay"):
		owed.pay_now(db, driver="D000003", now=NOW, user="manager@example.com")
	# A cancelled payout frees its money; a Paid one has left payable.
	payouts.cancel_payout(db, part.payout, reason="wrong number", user="m", now=NOW)
	assert owed.available_kes(db, _locked(db, "D000001"), "D000001") == 500
	with pytest.raises(WithdrawalRefused, match="Only 500 KES"):
		owed.pay_now(db, driver="D000001", amount_kes=501, now=NOW, user="m")
	sources = db.sql("select distinct source, status from `tabTukTuk Withdrawal Request`")
	assert sources == ((WithdrawalSource.PAY_NOW, WithdrawalStatus.APPROVED),)
	db.commit()
	assert_books_clean(db)


def _locked(db, driver):
	from tuktuk_management.ledger.drivers import lock_drivers

	return lock_drivers(db, [driver])


def test_a_terminated_driver_is_refused(db, fleet):
	db.sql("update `tabTukTuk Driver` set status = 'Terminated' where name = 'D000002'")
	with pytest.raises(WithdrawalRefused, match="Terminated"):
		request(db, driver="D000002", amount_kes=100)
	with pytest.raises(WithdrawalRefused, match="Terminated"):
		owed.pay_now(db, driver="D000002", now=NOW, user="m")


# -- Concurrency: several processes, real row locks ----------------------------------------------
def _approve_in_process(url, name, start, results) -> None:
	db = MariaDB(url)
	start.wait(30)
	try:
		outcome = owed.approve_withdrawal(db, name, now=NOW, user="manager@example.com")
		db.commit()
		results.put(("ok", outcome.payout, outcome.replayed))
	except Exception as exc:  # reported to the parent, which fails the test
		db.rollback()
		results.put(("error", repr(exc), None))
	finally:
		db.close()


def _pay_now_in_process(url, start, results) -> None:
	db = MariaDB(url)
	start.wait(30)
	try:
		outcome = owed.pay_now(db, driver="D000001", now=NOW, user="manager@example.com")
		db.commit()
		results.put(("ok", outcome.payout, outcome.amount_kes))
	except WithdrawalRefused as exc:
		db.rollback()
		results.put(("refused", str(exc), None))
	except Exception as exc:
		db.rollback()
		results.put(("error", repr(exc), None))
	finally:
		db.close()


def _run_processes(target, args_list) -> list[tuple]:
	context = multiprocessing.get_context("fork")
	results, start = context.Queue(), context.Event()
	processes = [context.Process(target=target, args=(*args, start, results)) for args in args_list]
	for process in processes:
		process.start()
	start.set()
	outcomes = [results.get(timeout=60) for _ in processes]
	for process in processes:
		process.join(30)
		assert process.exitcode == 0
	return outcomes


def test_concurrent_approvals_by_several_processes_queue_one_payout(db, db_url, fleet):
	asked = request(db, amount_kes=900)
	db.commit()
	outcomes = _run_processes(_approve_in_process, [(db_url, asked.name)] * WORKERS)
	assert all(kind == "ok" for kind, _, _ in outcomes), outcomes
	assert len({payout for _, payout, _ in outcomes}) == 1
	assert sorted(replayed for _, _, replayed in outcomes) == [False] + [True] * (WORKERS - 1)
	db.rollback()
	assert payout_rows(db, "D000001") == [("Queued", 900)]
	assert_books_clean(db)


def test_concurrent_pay_now_clicks_pay_the_money_once(db, db_url, fleet):
	before = snapshot(db)
	outcomes = _run_processes(_pay_now_in_process, [(db_url,)] * WORKERS)
	kinds = sorted(kind for kind, _, _ in outcomes)
	assert kinds == ["ok"] + ["refused"] * (WORKERS - 1), outcomes
	db.rollback()
	assert payout_rows(db, "D000001") == [("Queued", 2000)]
	assert snapshot(db)["drivers"] == before["drivers"]  # a payout moves payable only when Paid
	assert_books_clean(db)


# -- The sweep -----------------------------------------------------------------------------------
def test_sweep_pays_each_driver_once_per_date_only_when_instant_payouts_are_off(db, fleet):
	settings, clock = load_settings(db), datetime(2026, 11, 21, 18, 30)
	set_settings(db, sweep_enabled=1, sweep_time="18:00:00", sweep_minimum_kes=50, sweep_batch_max=1)
	db.commit()

	def run(now=clock, **kw):
		return owed.run_sweep(
			db,
			settings=load_settings(db),
			money=money(db),
			now=now,
			commit=db.commit,
			rollback=db.rollback,
			user="Administrator",
			**kw,
		)

	assert settings.instant_payouts_enabled and run().sweep_date is None  # instant payouts on: no sweep
	set_settings(db, instant_payouts_enabled=0)
	db.commit()
	assert run(now=datetime(2026, 11, 21, 17, 59)).sweep_date is None  # before the sweep time
	owed.pay_now(db, driver="D000002", amount_kes=280, now=NOW, user="m")  # 20 KES left: below 50
	db.commit()
	first = run()
	assert (first.as_dict()["payouts"], first.done) == (1, False)  # bounded batch: one driver a run
	second = run()
	assert (second.as_dict()["payouts"], second.done) == (0, True)
	assert run().as_dict()["payouts"] == 0  # run again the same day: nothing new
	assert payout_rows(db, "D000001") == [("Queued", 2000)]
	name = owed.sweep_name(date(2026, 11, 21), "D000001")
	row = db.sql("select source, status, payout from `tabTukTuk Withdrawal Request` where name = %s", (name,))
	assert row[0][:2] == (WithdrawalSource.SWEEP, WithdrawalStatus.APPROVED)
	# Cancel the payout: the money is free again, but this date's sweep is done; the next date pays it.
	payouts.cancel_payout(db, row[0][2], reason="number changed", user="m", now=clock)
	db.commit()
	assert run().as_dict()["payouts"] == 0
	assert run(now=clock + timedelta(days=1)).as_dict()["paid_kes"] == 2000
	assert_books_clean(db)


def test_statement_shows_requests_and_unpaid_payouts(db, fleet):
	asked = request(db, amount_kes=300)
	owed.reject_withdrawal(db, asked.name, reason="call me", now=NOW, user="m")
	paid_now = owed.pay_now(db, driver="D000001", amount_kes=400, now=NOW, user="m")
	lines = payout_activity(db, "D000001", NOW.date(), NOW.date())
	texts = [(line.voucher_type, line.remarks) for line in lines]
	assert ("TukTuk Withdrawal Request", "Driver Request of 300 KES: Rejected (call me)") in texts
	assert (
		"TukTuk Withdrawal Request",
		f"Pay Now of 400 KES: Approved, payout {paid_now.payout} Queued",
	) in texts
	assert ("TukTuk Payout", "Payout of 400 KES: Queued (not paid yet)") in texts
	assert payout_activity(db, "D000001", date(2026, 11, 22), date(2026, 11, 23)) == []


# -- Atomicity: a failure at any step leaves nothing (the caller's transaction goes on) ---------
def _withdrawal_snapshot(db) -> dict:
	return {
		**snapshot(db),
		"requests": db.sql("select name, status, payout from `tabTukTuk Withdrawal Request` order by name"),
	}


@pytest.mark.parametrize("step", ["request_inserted", "payout_queued", "request_marked"])
def test_a_failure_at_any_step_of_an_auto_approved_request_or_pay_now_leaves_nothing(db, fleet, step):
	set_settings(db, withdrawal_auto_approve_max_kes=500)
	db.commit()
	before, reached = _withdrawal_snapshot(db), []
	with pytest.raises(Injected):
		owed.request_withdrawal(
			db,
			driver="D000001",
			amount_kes=300,
			settings=money(db),
			now=NOW,
			user="d",
			on_step=fail_at(step, reached),
		)
	assert _withdrawal_snapshot(db) == before and step in reached  # rolled back to the savepoint
	with pytest.raises(Injected):
		owed.pay_now(db, driver="D000001", now=NOW, user="m", on_step=fail_at(step, []))
	assert _withdrawal_snapshot(db) == before
	assert owed.pay_now(db, driver="D000001", now=NOW, user="m").amount_kes == 2000  # and works after


@pytest.mark.parametrize("step", ["payout_queued", "request_marked"])
def test_a_failure_at_any_step_of_an_approval_leaves_the_request_waiting(db, fleet, step):
	asked = request(db, amount_kes=700)
	db.commit()
	before = _withdrawal_snapshot(db)
	with pytest.raises(Injected):
		owed.approve_withdrawal(db, asked.name, now=NOW, user="m", on_step=fail_at(step, []))
	assert _withdrawal_snapshot(db) == before
	assert owed.approve_withdrawal(db, asked.name, now=NOW, user="m").status == WithdrawalStatus.APPROVED


# -- Payments arriving while managers click Pay now, in several processes ------------------------
def _deliver(url, bodies, results) -> None:
	from tuktuk_management.cli import handle_confirmation

	db = MariaDB(url)
	results.put(("payments", [handle_confirmation(db, body) for body in bodies]))
	db.close()


def _click_pay_now(url, clicks, results) -> None:
	from tuktuk_management.ledger.database import run_with_retry

	db, paid = MariaDB(url), []
	for _ in range(clicks):
		try:
			outcome = run_with_retry(
				lambda: owed.pay_now(db, driver="D000001", now=NOW, user="m"), rollback=db.rollback
			)
			db.commit()
			paid.append(outcome.amount_kes)
		except WithdrawalRefused:
			db.rollback()
	db.close()
	results.put(("paid", paid))


def test_pay_now_while_payments_arrive_never_pays_more_than_is_owed(db, db_url):
	from tests.factories import c2b_body, make_vehicle, raw

	set_settings(db, instant_payouts_enabled=0)
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", payout_pending=500, current_balance=3000)  # target met: all to driver
	db.commit()
	batches = [[raw(c2b_body("TT001", 100)) for _ in range(15)] for _ in range(3)]
	context = multiprocessing.get_context("fork")
	results = context.Queue()
	processes = [context.Process(target=_deliver, args=(db_url, batch, results)) for batch in batches]
	processes += [context.Process(target=_click_pay_now, args=(db_url, 8, results)) for _ in range(3)]
	for process in processes:
		process.start()
	outcomes = [results.get(timeout=300) for _ in processes]
	for process in processes:
		process.join(60)
		assert process.exitcode == 0
	statuses = [s for kind, values in outcomes if kind == "payments" for s in values]
	assert statuses == ["Processed"] * 45
	paid_kes = sum(v for kind, values in outcomes if kind == "paid" for v in values)
	db.rollback()
	payable_kes = int(db.sql("select payout_pending from `tabTukTuk Driver` where name = 'D000001'")[0][0])
	queued_kes = int(db.sql("select coalesce(sum(amount), 0) from `tabTukTuk Payout`")[0][0])
	assert payable_kes == 500 + 45 * 100  # payouts move payable only when Paid
	assert queued_kes == paid_kes <= payable_kes
	# Whatever the clicks left is exactly what one more click pays: nothing was paid twice.
	rest = owed.pay_now(db, driver="D000001", now=NOW, user="m").amount_kes if queued_kes < payable_kes else 0
	assert queued_kes + rest == payable_kes
	assert_books_clean(db)
