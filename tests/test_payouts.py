"""The B2C payout state machine against the Daraja stand-in (DESIGN §4): paid exactly once."""

from __future__ import annotations

import json
import multiprocessing
import os
from datetime import datetime, timedelta

import pytest

from tests.daraja_standin import daraja  # a fixture
from tests.factories import c2b_body, driver_state, make_driver, make_vehicle, raw, set_settings
from tuktuk_management.daraja.client import DarajaClient
from tuktuk_management.ledger import accounts, c2b, payouts
from tuktuk_management.ledger.callback_log import store_callback
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus
from tuktuk_management.standalone.db import MariaDB

NOW = datetime(2026, 11, 21, 12, 0, 0)


class Clock:
	def __init__(self, start: datetime = NOW):
		self.now = start

	def __call__(self) -> datetime:
		return self.now

	def advance(self, **delta) -> None:
		self.now += timedelta(**delta)


@pytest.fixture
def fleet(db):
	for number in (1, 2, 3):
		make_vehicle(db, f"TT00{number}")
		make_driver(db, f"D00000{number}", f"TT00{number}", daily_target=100, fare_percentage=50)
	db.commit()


def client_of(daraja) -> DarajaClient:  # noqa: F811
	return DarajaClient(daraja.config(), sleep=lambda _s: None, timeout_s=(1.0, 1.0))


def pay(db, account: str, amount_kes: int, clock: Clock | None = None) -> str | None:
	"""Apply one C2B payment (committed); the payout it queued, if any."""
	outcome = c2b.process_confirmation(
		db, raw(c2b_body(account, amount_kes)), settings=load_settings(db), now=(clock or Clock())()
	)
	db.commit()
	assert outcome.status == LogStatus.PROCESSED
	return outcome.payout


def send(db, name: str, daraja, clock: Clock | None = None, **kwargs) -> payouts.PayoutOutcome:  # noqa: F811
	return payouts.send_payout(
		db,
		name,
		client=client_of(daraja),
		settings=load_settings(db),
		clock=clock or Clock(),
		commit=db.commit,
		**kwargs,
	)


def deliver(db, body: dict, endpoint: str = payouts.B2C_RESULT, clock: Clock | None = None) -> str:
	"""What the result endpoint does after its token check: store (commit), apply, mark, commit."""
	now = (clock or Clock())()
	text = json.dumps(body)
	log = store_callback(db, endpoint=endpoint, raw_body=text, received_at=now)
	db.commit()
	outcome = payouts.process_logged_result(
		db, log, text, endpoint=endpoint, now=now, settings=load_settings(db)
	)
	db.commit()
	return outcome.status


def payout(db, name: str) -> dict:
	return db.sql(
		"""select status, originator_conversation_id, conversation_id, receipt, result_code, attempts,
		final_failure, next_attempt_at, amount, driver from `tabTukTuk Payout` where name = %s""",
		(name,),
		as_dict=True,
	)[0]


def unpaid_shares(db, driver: str) -> int:
	"""Σ driver shares of the driver's payments − Σ Paid payouts: what payable must hold."""
	shares = db.sql(
		"select coalesce(sum(driver_share), 0) from `tabTukTuk Transaction` where driver = %s", (driver,)
	)
	paid = db.sql(
		"select coalesce(sum(amount), 0) from `tabTukTuk Payout` where driver = %s and status = 'Paid'",
		(driver,),
	)
	return to_kes(shares[0][0]) - to_kes(paid[0][0])


def assert_paid_exactly_once(db, daraja) -> None:  # noqa: F811
	"""Nobody paid twice; the books say what Daraja paid; payout_pending = unpaid shares."""
	paid = daraja.paid_by_payout()
	assert all(count == 1 for count in paid.values()), paid
	rows = db.sql("select name, status, amount from `tabTukTuk Payout`")
	for name, status, amount in rows:
		assert (status == payouts.PAID) == (paid.get(name, 0) == 1), (name, status, paid.get(name))
		if status == payouts.PAID:
			assert daraja.paid_kes_by_payout()[name] == to_kes(amount)
	b2c_kes = db.sql(
		"select coalesce(sum(credit - debit), 0) from `tabTukTuk Ledger Entry` where account = %s",
		(accounts.B2C,),
	)
	assert to_kes(b2c_kes[0][0]) == sum(daraja.paid_kes_by_payout().values())
	for (driver,) in db.sql("select name from `tabTukTuk Driver`"):
		assert driver_state(db, driver)["payout_pending"] == unpaid_shares(db, driver), driver
	report = check_books(db)
	assert report.clean, report.as_dict()


def settle(db, daraja, clock: Clock, rounds: int = 8) -> None:  # noqa: F811
	"""Let time pass as in production: Daraja posts the result of every accepted request (and
	answers every status query), the scheduler runs; until nothing is in flight."""
	delivered: set[str] = set()
	for _ in range(rounds):
		for originator_id in list(daraja.payments):
			if originator_id not in delivered:
				delivered.add(originator_id)
				deliver(db, daraja.result_for(originator_id), clock=clock)
		for query in list(daraja.status_queries):
			if query not in delivered:
				delivered.add(query)
				deliver(db, daraja.status_result_for(query), clock=clock)
		clock.advance(minutes=90)
		payouts.run_due_payouts(
			db, client=client_of(daraja), settings=load_settings(db), clock=clock, commit=db.commit
		)
		if not db.sql(
			"select count(*) from `tabTukTuk Payout` where status in ('Queued', 'Sent', 'Unknown')"
		)[0][0]:
			if all(o in delivered for o in daraja.payments) and all(
				q in delivered for q in daraja.status_queries
			):
				return
	db.rollback()


# The state machine ---------------------------------------------------------------------------


def test_payment_is_sent_then_paid_once(db, fleet, daraja):  # noqa: F811
	name = pay(db, "TT001", 100)
	assert payout(db, name)["status"] == payouts.QUEUED
	assert driver_state(db, "D000001")["payout_pending"] == 50
	outcome = send(db, name, daraja)
	row = payout(db, name)
	assert (outcome.status, row["status"], row["attempts"]) == (payouts.SENT, payouts.SENT, 1)
	assert row["conversation_id"].startswith("AG_") and row["originator_conversation_id"] == f"TTK-{name}"
	assert daraja.b2c_requests[0]["Amount"] == 50
	assert driver_state(db, "D000001")["payout_pending"] == 50  # not paid until the result says so
	result = daraja.result_for(f"TTK-{name}")
	assert deliver(db, result) == LogStatus.PROCESSED
	row = payout(db, name)
	assert (row["status"], row["receipt"], row["result_code"]) == (payouts.PAID, "SK00000001", "0")
	assert driver_state(db, "D000001")["payout_pending"] == 0
	# The same result again (Daraja redelivers): nothing changes.
	ledger_rows = db.sql("select count(*) from `tabTukTuk Ledger Entry`")[0][0]
	assert deliver(db, result) == LogStatus.DUPLICATE
	assert db.sql("select count(*) from `tabTukTuk Ledger Entry`")[0][0] == ledger_rows
	# A second send of a Paid payout does nothing.
	assert send(db, name, daraja).status == payouts.PAID and len(daraja.b2c_requests) == 1
	assert_paid_exactly_once(db, daraja)


def test_failure_keeps_the_share_payable_and_is_retried_with_a_new_id(db, fleet, daraja):  # noqa: F811
	clock = Clock()
	name = pay(db, "TT001", 100)
	daraja.planned_failures[f"TTK-{name}"] = ("1", "The balance is insufficient for the transaction.")
	send(db, name, daraja, clock)
	assert deliver(db, daraja.result_for(f"TTK-{name}"), clock=clock) == LogStatus.PROCESSED
	row = payout(db, name)
	assert (row["status"], row["result_code"], row["final_failure"]) == (payouts.FAILED, "1", 0)
	assert row["next_attempt_at"] == NOW + timedelta(minutes=10)
	assert driver_state(db, "D000001")["payout_pending"] == 50
	settings = load_settings(db)
	assert payouts.failed_due(db, NOW + timedelta(minutes=9), settings) == []
	assert payouts.failed_due(db, NOW + timedelta(minutes=10), settings) == [name]
	clock.advance(minutes=10)
	counts = payouts.run_due_payouts(
		db, client=client_of(daraja), settings=settings, clock=clock, commit=db.commit
	)
	assert counts == {"retry:Sent": 1}
	row = payout(db, name)
	assert (row["originator_conversation_id"], row["attempts"]) == (f"TTK-{name}-2", 2)
	# The late failure of attempt 1, redelivered, changes nothing now.
	assert deliver(db, daraja.result_for(f"TTK-{name}"), clock=clock) == LogStatus.DUPLICATE
	deliver(db, daraja.result_for(f"TTK-{name}-2"), clock=clock)
	assert payout(db, name)["status"] == payouts.PAID
	assert_paid_exactly_once(db, daraja)


def test_backoff_doubles_and_attempts_are_bounded(db, fleet, daraja):  # noqa: F811
	set_settings(db, payout_max_attempts=2, payout_retry_backoff_minutes=5)
	db.commit()
	clock = Clock()
	name = pay(db, "TT001", 100)
	for attempt in (1, 2):
		originator_id = f"TTK-{name}" if attempt == 1 else f"TTK-{name}-{attempt}"
		daraja.planned_failures[originator_id] = ("1", "The balance is insufficient for the transaction.")
	send(db, name, daraja, clock)
	deliver(db, daraja.result_for(f"TTK-{name}"), clock=clock)
	assert payout(db, name)["next_attempt_at"] == NOW + timedelta(minutes=5)
	clock.advance(minutes=5)
	payouts.run_due_payouts(
		db, client=client_of(daraja), settings=load_settings(db), clock=clock, commit=db.commit
	)
	deliver(db, daraja.result_for(f"TTK-{name}-2"), clock=clock)
	row = payout(db, name)
	assert (row["status"], row["attempts"], row["next_attempt_at"]) == (payouts.FAILED, 2, None)
	clock.advance(days=2)
	assert payouts.failed_due(db, clock(), load_settings(db)) == []
	assert payouts.retry_delay(3, load_settings(db)) == timedelta(minutes=20)
	assert payouts.retry_delay(30, load_settings(db)) == payouts.BACKOFF_CAP
	assert_paid_exactly_once(db, daraja)


def test_final_result_code_is_not_retried_automatically(db, fleet, daraja):  # noqa: F811
	clock = Clock()
	name = pay(db, "TT001", 100)
	daraja.planned_failures[f"TTK-{name}"] = (
		"2040",
		"Credit Party customer type (Unregistered or Registered Customer) can't be supported by the service.",
	)
	send(db, name, daraja, clock)
	deliver(db, daraja.result_for(f"TTK-{name}"), clock=clock)
	row = payout(db, name)
	assert (row["status"], row["final_failure"], row["next_attempt_at"]) == (payouts.FAILED, 1, None)
	clock.advance(days=1)
	assert payouts.failed_due(db, clock(), load_settings(db)) == []
	# A manager fixes the cause and retries by hand: a new id, paid once.
	assert send(db, name, daraja, clock, mode="retry").reason == "no automatic retry due"
	assert payout(db, name)["status"] == payouts.FAILED  # automatic mode refuses a final failure
	assert send(db, name, daraja, clock, mode="retry", manual=True).status == payouts.SENT
	deliver(db, daraja.result_for(f"TTK-{name}-2"), clock=clock)
	assert payout(db, name)["status"] == payouts.PAID
	assert_paid_exactly_once(db, daraja)


def test_bad_driver_number_fails_without_calling_daraja(db, fleet, daraja):  # noqa: F811
	db.sql("update `tabTukTuk Driver` set mpesa_number = '12345' where name = 'D000001'")
	db.commit()
	name = pay(db, "TT001", 100)
	assert send(db, name, daraja).status == payouts.FAILED
	row = payout(db, name)
	assert (row["result_code"], row["final_failure"]) == (payouts.LOCAL_MSISDN_CODE, 1)
	assert daraja.b2c_requests == []
	assert_paid_exactly_once(db, daraja)


def test_refused_first_request_fails_and_nothing_is_paid(db, fleet, daraja):  # noqa: F811
	daraja.behaviours = ["reject"]
	name = pay(db, "TT001", 100)
	assert send(db, name, daraja).status == payouts.FAILED
	assert payout(db, name)["result_code"] == "400.002.02"
	assert_paid_exactly_once(db, daraja)


def test_lost_reply_is_caught_by_the_duplicate_check(db, fleet, daraja):  # noqa: F811
	daraja.behaviours = ["502"]  # Daraja queued the request; the reply was lost
	name = pay(db, "TT001", 100)
	assert send(db, name, daraja).status == payouts.SENT
	assert len(daraja.b2c_requests) == 2 and len(daraja.payments) == 1
	deliver(db, daraja.result_for(f"TTK-{name}"))
	assert_paid_exactly_once(db, daraja)


def test_timeout_is_resolved_by_transaction_status_not_by_a_resend(db, fleet, daraja):  # noqa: F811
	clock = Clock()
	name = pay(db, "TT001", 100)
	send(db, name, daraja, clock)
	assert deliver(db, daraja.timeout_for(f"TTK-{name}"), payouts.B2C_TIMEOUT, clock) == LogStatus.PROCESSED
	assert payout(db, name)["status"] == payouts.UNKNOWN
	assert payouts.in_flight_due(db, clock()) == []  # give a late result a chance first
	clock.advance(minutes=6)
	counts = payouts.run_due_payouts(
		db, client=client_of(daraja), settings=load_settings(db), clock=clock, commit=db.commit
	)
	assert counts == {"resolve:Unknown": 1}
	assert len(daraja.b2c_requests) == 1 and len(daraja.status_requests) == 1
	assert daraja.status_requests[0]["OriginalConversationID"] == f"TTK-{name}"
	(query,) = daraja.status_queries
	assert deliver(db, daraja.status_result_for(query), clock=clock) == LogStatus.PROCESSED
	assert payout(db, name)["status"] == payouts.PAID
	assert deliver(db, daraja.result_for(f"TTK-{name}"), clock=clock) == LogStatus.DUPLICATE
	assert_paid_exactly_once(db, daraja)


def test_status_failed_then_retry(db, fleet, daraja):  # noqa: F811
	clock = Clock()
	name = pay(db, "TT001", 100)
	daraja.planned_failures[f"TTK-{name}"] = ("1", "The balance is insufficient for the transaction.")
	send(db, name, daraja, clock)
	deliver(db, daraja.timeout_for(f"TTK-{name}"), payouts.B2C_TIMEOUT, clock)
	clock.advance(minutes=6)
	payouts.run_due_payouts(
		db, client=client_of(daraja), settings=load_settings(db), clock=clock, commit=db.commit
	)
	(query,) = daraja.status_queries
	deliver(db, daraja.status_result_for(query), clock=clock)
	assert payout(db, name)["status"] == payouts.FAILED
	settle(db, daraja, clock)
	assert payout(db, name)["status"] == payouts.PAID
	assert_paid_exactly_once(db, daraja)


def test_unanswered_request_is_resent_with_the_same_id_after_a_status_query(db, fleet, daraja):  # noqa: F811
	clock = Clock()
	name = pay(db, "TT001", 100)
	daraja.behaviours = ["unavailable"] * 3  # every attempt unanswered: outcome unknown
	assert send(db, name, daraja, clock).status == payouts.UNKNOWN
	assert len(daraja.b2c_requests) == 3 and not daraja.payments
	settle(db, daraja, clock)
	assert payout(db, name)["status"] == payouts.PAID
	assert {b["OriginatorConversationID"] for b in daraja.b2c_requests} == {f"TTK-{name}"}
	assert_paid_exactly_once(db, daraja)


def test_instant_payouts_off_accumulates_payable(db, fleet, daraja):  # noqa: F811
	set_settings(db, instant_payouts_enabled=0)
	db.commit()
	assert pay(db, "TT001", 100) is None
	assert pay(db, "TT001", 80) is None
	assert db.sql("select count(*) from `tabTukTuk Payout`")[0][0] == 0
	assert driver_state(db, "D000001")["payout_pending"] == 50 + 40
	assert unpaid_shares(db, "D000001") == 90
	assert check_books(db).clean


def test_cancel_keeps_the_share_payable_and_refuses_in_flight(db, fleet, daraja):  # noqa: F811
	clock = Clock()
	queued = pay(db, "TT001", 100)
	sent = pay(db, "TT002", 100)
	send(db, sent, daraja, clock)
	with pytest.raises(payouts.PayoutStateError):
		payouts.cancel_payout(db, queued, reason="", user="manager@example.com", now=clock())
	payouts.cancel_payout(db, queued, reason="paid in cash", user="manager@example.com", now=clock())
	db.commit()
	with pytest.raises(payouts.PayoutStateError, match="Daraja may still pay it"):
		payouts.cancel_payout(db, sent, reason="x", user="manager@example.com", now=clock())
	assert payout(db, queued)["status"] == payouts.CANCELLED
	assert driver_state(db, "D000001")["payout_pending"] == 50  # for a later payout or settlement
	assert send(db, queued, daraja, clock).status == payouts.CANCELLED
	clock.advance(hours=2)
	payouts.run_due_payouts(
		db, client=client_of(daraja), settings=load_settings(db), clock=clock, commit=db.commit
	)
	assert payout(db, queued)["status"] == payouts.CANCELLED
	deliver(db, daraja.result_for(f"TTK-{sent}"), clock=clock)
	assert_paid_exactly_once(db, daraja)


def test_stuck_payouts_are_listed_after_an_hour(db, fleet, daraja):  # noqa: F811
	clock = Clock()
	name = pay(db, "TT001", 100)
	send(db, name, daraja, clock)
	assert payouts.stuck_payouts(db, NOW + timedelta(minutes=59)) == []
	(stuck,) = payouts.stuck_payouts(db, NOW + timedelta(minutes=61))
	assert (stuck["name"], stuck["driver"], stuck["amount_kes"], stuck["status"]) == (
		name,
		"D000001",
		50,
		"Sent",
	)


def test_forged_or_unknown_results_change_nothing(db, fleet, daraja):  # noqa: F811
	name = pay(db, "TT001", 100)
	send(db, name, daraja)
	before = payout(db, name)
	assert (
		deliver(db, {"Result": {"ResultCode": 0, "OriginatorConversationID": "TTK-doesnotexi"}})
		== LogStatus.INVALID
	)
	assert (
		deliver(db, {"Result": {"ResultCode": 0, "OriginatorConversationID": "someone-else"}})
		== LogStatus.INVALID
	)
	assert deliver(db, {"not": "a result"}) == LogStatus.INVALID
	never_sent = pay(db, "TT002", 100)
	forged = daraja.result_for(f"TTK-{name}")
	forged["Result"]["OriginatorConversationID"] = f"TTK-{never_sent}"
	assert deliver(db, forged) == LogStatus.CONFLICT  # a result for a request never made is not applied
	assert payout(db, never_sent)["status"] == payouts.QUEUED
	payouts.cancel_payout(db, never_sent, reason="test", user="manager@example.com", now=NOW)
	db.commit()
	assert payout(db, name) == before
	deliver(db, daraja.result_for(f"TTK-{name}"))
	assert_paid_exactly_once(db, daraja)


# Crash points ---------------------------------------------------------------------------------

SEND_STEPS = ["claimed", "request_answered", "reply_recorded"]
RESULT_STEPS = ["payout_locked", "driver_locked", "ledger_lines_inserted", "caches_updated", "payout_marked"]


def _crash_at(step_name: str):
	def on_step(name: str) -> None:
		if name == step_name:
			os._exit(17)  # a worker killed mid-flow: no rollback, no cleanup

	return on_step


def _child_send(url, name, config, step_name):
	with MariaDB(url) as db:
		payouts.send_payout(
			db,
			name,
			client=DarajaClient(config, sleep=lambda _s: None, timeout_s=(1.0, 1.0)),
			settings=load_settings(db),
			clock=Clock(),
			commit=db.commit,
			on_step=_crash_at(step_name),
		)
	os._exit(0)


def _child_deliver(url, body, step_name):
	with MariaDB(url) as db:
		text = json.dumps(body)
		log = store_callback(db, endpoint=payouts.B2C_RESULT, raw_body=text, received_at=NOW)
		db.commit()
		payouts.process_logged_result(
			db,
			log,
			text,
			endpoint=payouts.B2C_RESULT,
			now=NOW,
			settings=load_settings(db),
			on_step=_crash_at(step_name),
		)
		db.commit()
	os._exit(0)


def run_child(target, *args) -> int:
	process = multiprocessing.get_context("fork").Process(target=target, args=args)
	process.start()
	process.join(60)
	assert process.exitcode is not None, "child hung"
	return process.exitcode


@pytest.mark.parametrize("step", SEND_STEPS)
def test_crash_while_sending_never_pays_twice(db, db_url, fleet, daraja, step):  # noqa: F811
	name = pay(db, "TT001", 100)
	assert run_child(_child_send, db_url, name, daraja.config(), step) == 17
	db.rollback()
	assert payout(db, name)["status"] == payouts.UNKNOWN  # claimed; the reply (if any) not saved
	assert len(daraja.payments) == (0 if step == "claimed" else 1)
	clock = Clock()
	settle(db, daraja, clock)
	assert payout(db, name)["status"] == payouts.PAID
	assert_paid_exactly_once(db, daraja)


@pytest.mark.parametrize("step", RESULT_STEPS)
def test_crash_while_applying_a_result_never_posts_twice(db, db_url, fleet, daraja, step):  # noqa: F811
	name = pay(db, "TT001", 100)
	send(db, name, daraja)
	result = daraja.result_for(f"TTK-{name}")
	assert run_child(_child_deliver, db_url, result, step) == 17
	db.rollback()
	assert payout(db, name)["status"] == payouts.SENT  # the crashed transaction left nothing
	assert driver_state(db, "D000001")["payout_pending"] == 50
	assert check_books(db).clean
	# The stored log is still Received: the scheduler (or Daraja's redelivery) applies it once.
	(log, endpoint, body), *_ = payouts.pending_result_logs(db)
	payouts.process_logged_result(db, log, body, endpoint=endpoint, now=NOW, settings=load_settings(db))
	db.commit()
	assert deliver(db, result) == LogStatus.DUPLICATE
	assert payout(db, name)["status"] == payouts.PAID
	assert_paid_exactly_once(db, daraja)


def _deliver_worker(url, body, barrier):
	with MariaDB(url) as db:
		text = json.dumps(body)
		log = store_callback(db, endpoint=payouts.B2C_RESULT, raw_body=text, received_at=NOW)
		db.commit()
		barrier.wait(10)
		outcome = payouts.process_logged_result(
			db, log, text, endpoint=payouts.B2C_RESULT, now=NOW, settings=load_settings(db)
		)
		db.commit()
	os._exit(
		0 if outcome.status == LogStatus.PROCESSED else 3 if outcome.status == LogStatus.DUPLICATE else 9
	)


def test_same_result_delivered_by_several_processes_posts_once(db, db_url, fleet, daraja):  # noqa: F811
	name = pay(db, "TT001", 100)
	send(db, name, daraja)
	result = daraja.result_for(f"TTK-{name}")
	context = multiprocessing.get_context("fork")
	barrier = context.Barrier(4)
	processes = [context.Process(target=_deliver_worker, args=(db_url, result, barrier)) for _ in range(4)]
	for process in processes:
		process.start()
	for process in processes:
		process.join(60)
	assert sorted(p.exitcode for p in processes) == [0, 3, 3, 3]
	db.rollback()
	assert payout(db, name)["status"] == payouts.PAID
	assert_paid_exactly_once(db, daraja)


# A day of payments --------------------------------------------------------------------------


def test_a_day_of_payments_and_results_leaves_the_books_right(db, fleet, daraja):  # noqa: F811
	"""Replay payments, then deliver success, failure, duplicate-id and timeout outcomes (and
	every result twice): each payout ends in the right state and payable holds the unpaid shares."""
	clock = Clock()
	names = []
	for index in range(30):
		names.append(pay(db, f"TT00{index % 3 + 1}", 40 + index * 7, clock))
	names = [name for name in names if name]
	for index, name in enumerate(names):
		if index % 5 == 1:
			daraja.planned_failures[f"TTK-{name}"] = ("1", "The balance is insufficient for the transaction.")
		if index % 5 == 2:
			daraja.planned_failures[f"TTK-{name}"] = ("2040", "Unregistered customer.")
	for index, name in enumerate(names):
		daraja.behaviours = ["502"] if index % 5 == 3 else []  # lost reply: duplicate on the retry
		send(db, name, daraja, clock)
	for index, name in enumerate(names):
		if index % 5 == 4:  # the queue timed out: resolved by Transaction Status
			deliver(db, daraja.timeout_for(f"TTK-{name}"), payouts.B2C_TIMEOUT, clock)
		else:
			for _ in range(2):
				deliver(db, daraja.result_for(f"TTK-{name}"), clock=clock)
	settle(db, daraja, clock, rounds=12)
	statuses = {name: payout(db, name)["status"] for name in names}
	for index, name in enumerate(names):
		expected = payouts.FAILED if index % 5 == 2 else payouts.PAID
		assert statuses[name] == expected, (index, name, statuses[name])
	assert_paid_exactly_once(db, daraja)


def test_the_shipped_sample_day_then_every_kind_of_result(db, daraja):  # noqa: F811
	"""The sample day (samples/callbacks.jsonl: 276 callbacks, redeliveries, a conflict, bad
	bodies) replayed as the webhook does, then every payout sent and answered with success,
	failure (retryable and final), lost replies (duplicate id) and queue timeouts, each result
	delivered twice: every payout ends right, payable = unpaid shares, nobody paid twice."""
	from pathlib import Path

	from tuktuk_management.cli import handle_confirmation, read_callbacks, site_now
	from tuktuk_management.standalone.fleet import load_fixtures

	samples = Path(__file__).resolve().parent.parent / "samples"
	load_fixtures(db, json.loads((samples / "fleet.json").read_text()), now=NOW)
	db.commit()
	for body in read_callbacks(str(samples / "callbacks.jsonl")):
		handle_confirmation(db, body)
	names = [name for (name,) in db.sql("select name from `tabTukTuk Payout` order by queued_at, name")]
	assert len(names) > 100
	shares = db.sql("select coalesce(sum(amount), 0) from `tabTukTuk Payout`")[0][0]
	clock = Clock(site_now(load_settings(db).site_timezone))  # the replay stamped rows with the real clock
	expected = {}
	for index, name in enumerate(names):
		kind = index % 6
		if kind == 1:
			daraja.planned_failures[f"TTK-{name}"] = ("1", "The balance is insufficient for the transaction.")
		if kind == 2:
			daraja.planned_failures[f"TTK-{name}"] = ("2040", "Unregistered customer.")
		expected[name] = payouts.FAILED if kind == 2 else payouts.PAID
	client = client_of(daraja)
	settings = load_settings(db)
	for index, name in enumerate(names):
		daraja.behaviours = ["502"] if index % 6 == 3 else []
		payouts.send_payout(db, name, client=client, settings=settings, clock=clock, commit=db.commit)
	for index, name in enumerate(names):
		if index % 6 == 4:
			deliver(db, daraja.timeout_for(f"TTK-{name}"), payouts.B2C_TIMEOUT, clock)
		else:
			for _ in range(2):
				deliver(db, daraja.result_for(f"TTK-{name}"), clock=clock)
	settle(db, daraja, clock, rounds=12)
	assert {name: payout(db, name)["status"] for name in names} == expected
	assert_paid_exactly_once(db, daraja)
	paid_kes = sum(daraja.paid_kes_by_payout().values())
	pending_kes = db.sql("select coalesce(sum(payout_pending), 0) from `tabTukTuk Driver`")[0][0]
	assert to_kes(pending_kes) == to_kes(shares) - paid_kes  # no opening payable in the sample fleet


def test_automatic_resolution_is_bounded_then_left_to_the_alert(db, fleet, daraja):  # noqa: F811
	clock = Clock()
	name = pay(db, "TT001", 100)
	daraja.behaviours = ["unavailable"] * 1000  # Daraja never answers a payment request
	assert send(db, name, daraja, clock).status == payouts.UNKNOWN
	for _ in range(40):
		clock.advance(minutes=11)
		payouts.run_due_payouts(
			db, client=client_of(daraja), settings=load_settings(db), clock=clock, commit=db.commit
		)
	row = db.sql("select status, resolve_attempts from `tabTukTuk Payout` where name = %s", (name,))[0]
	assert row == (payouts.UNKNOWN, payouts.RESOLVE_ATTEMPTS_MAX)
	assert payouts.in_flight_due(db, clock()) == []
	assert [stuck["name"] for stuck in payouts.stuck_payouts(db, clock())] == [name]
	queries, resends = len(daraja.status_requests), len(daraja.b2c_requests) // 3 - 1
	assert queries + resends == payouts.RESOLVE_ATTEMPTS_MAX and queries >= resends >= 1
	assert {b["OriginatorConversationID"] for b in daraja.b2c_requests} == {f"TTK-{name}"}
	# A manager's "Check with Daraja" still works after the bound.
	payouts.resolve_payout(
		db,
		name,
		client=client_of(daraja),
		settings=load_settings(db),
		clock=clock,
		commit=db.commit,
		force=True,
	)
	assert len(daraja.status_requests) == queries + 1
	assert_paid_exactly_once(db, daraja)
