"""Routing during a substitution and for vehicles out of service (DESIGN §8, ledger/c2b_routing.py).

A payment to a vehicle's account goes to whoever drives it on the posting date: the substitute of
an Active substitution covering that date (split with the substitute's own target and percentage),
else the vehicle's assigned Active driver; a vehicle in Maintenance or Retired sends it to
suspense. The route is decided in the one look-up query and re-checked in the one locking read.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.factories import c2b_body, counts, driver_state, make_driver, make_vehicle, raw
from tests.substitution_helpers import make_substitution
from tuktuk_management.ledger import c2b
from tuktuk_management.ledger.allocation import allocate_payment
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus
from tuktuk_management.standalone.db import MariaDB

REGULAR, SUBSTITUTE = "D000001", "D000009"
FROM, TO = date(2026, 11, 21), date(2026, 11, 22)


def at(day: int) -> datetime:
	return datetime(2026, 11, day, 12, 0, 0)


def process(db, body, now, **kwargs):
	outcome = c2b.process_confirmation(db, raw(body), settings=load_settings(db), now=now, **kwargs)
	db.commit()
	return outcome


def transaction(db, name):
	return db.sql(
		"""select transaction_type, payment_status, tuktuk, driver, target_contribution, driver_share,
		unallocated_reason from `tabTukTuk Transaction` where name = %s""",
		(name,),
		as_dict=True,
	)[0]


def payouts(db, trans_id):
	return [
		(row[0], int(row[1]))
		for row in db.sql("select driver, amount from `tabTukTuk Payout` where transaction = %s", (trans_id,))
	]


@pytest.fixture
def fleet(db):
	"""TT001 driven by D000001 (global target 3,000, 50 %); D000009 a substitute with its own
	target 500 and 30 %, no vehicle; a substitution of TT001 on 21 and 22 November."""
	make_vehicle(db, "TT001")
	make_driver(db, REGULAR, "TT001")
	make_driver(db, SUBSTITUTE, None, daily_target=500, fare_percentage=30)
	make_substitution(db, "TT001", REGULAR, SUBSTITUTE, FROM, TO, name="SUB-TT001")
	db.commit()


@pytest.mark.parametrize(
	("day", "payee", "split"),
	[
		(20, REGULAR, (200, 200)),  # before the range
		(21, SUBSTITUTE, (280, 120)),  # first day: the substitute's own target and percentage
		(22, SUBSTITUTE, (280, 120)),  # to_date is inclusive
		(23, REGULAR, (200, 200)),  # after the range
	],
)
def test_the_payee_is_whoever_drives_the_vehicle_on_the_posting_date(db, fleet, day, payee, split):
	other = REGULAR if payee == SUBSTITUTE else SUBSTITUTE
	before = driver_state(db, other)
	outcome = process(db, c2b_body("TT001", 400), at(day))
	assert outcome.status == LogStatus.PROCESSED and outcome.driver == payee
	assert (outcome.split.target_contribution_kes, outcome.split.driver_share_kes) == split
	row = transaction(db, outcome.transaction)
	assert (row["transaction_type"], row["tuktuk"], row["driver"]) == ("Payment", "TT001", payee)
	assert (row["target_contribution"], row["driver_share"]) == split
	assert payouts(db, outcome.transaction) == [(payee, split[1])]
	state = driver_state(db, payee)
	target_kes = 500 if payee == SUBSTITUTE else 3000
	assert state["current_balance"] == split[0] and state["left_to_target"] == target_kes - split[0]
	assert driver_state(db, other) == before
	assert check_books(db).clean


def test_the_substitute_meets_their_own_target_then_keeps_everything(db, fleet):
	first = process(db, c2b_body("TT001", 1000), at(21))  # 30 %: company 700, capped at 500
	assert (first.split.target_contribution_kes, first.split.driver_share_kes) == (500, 500)
	second = process(db, c2b_body("TT001", 300), at(21))  # target met: all of it to the substitute
	assert (second.split.target_contribution_kes, second.split.driver_share_kes) == (0, 300)
	assert driver_state(db, SUBSTITUTE) == {
		"current_balance": 500,
		"left_to_target": 0,
		"current_deposit_balance": 0,
		"payout_pending": 800,
	}
	assert driver_state(db, REGULAR)["current_balance"] == 0
	assert check_books(db).clean


def test_a_cancelled_substitution_routes_to_the_assigned_driver(db, fleet):
	db.sql("update `tabTukTuk Substitution` set status = 'Cancelled' where name = 'SUB-TT001'")
	db.commit()
	outcome = process(db, c2b_body("TT001", 400), at(21))
	assert outcome.status == LogStatus.PROCESSED and outcome.driver == REGULAR


def test_a_substitution_of_another_vehicle_changes_nothing_here(db, fleet):
	make_vehicle(db, "TT002")
	make_driver(db, "D000002", "TT002")
	db.commit()
	outcome = process(db, c2b_body("TT002", 400), at(21))
	assert outcome.driver == "D000002"


@pytest.mark.parametrize(
	("status", "reason"),
	[("Maintenance", "vehicle TT001 is in Maintenance"), ("Retired", "vehicle TT001 is Retired")],
)
@pytest.mark.parametrize("day", [20, 21])  # with its driver, and during the substitution
def test_a_vehicle_out_of_service_sends_payments_to_suspense(db, fleet, status, reason, day):
	db.sql("update `tabTukTuk Vehicle` set status = %s where name = 'TT001'", (status,))
	db.commit()
	before = {driver: driver_state(db, driver) for driver in (REGULAR, SUBSTITUTE)}
	outcome = process(db, c2b_body("TT001", 400), at(day))
	assert outcome.status == LogStatus.UNALLOCATED and outcome.reason == reason
	row = transaction(db, outcome.transaction)
	assert (row["transaction_type"], row["payment_status"], row["tuktuk"], row["driver"]) == (
		"Unallocated",
		"Unallocated",
		"TT001",
		None,
	)
	assert row["unallocated_reason"] == reason
	assert payouts(db, outcome.transaction) == []
	assert {driver: driver_state(db, driver) for driver in before} == before
	assert check_books(db).clean


def test_an_inactive_substitute_is_not_paid(db, fleet):
	db.sql("update `tabTukTuk Driver` set status = 'Suspended' where name = %s", (SUBSTITUTE,))
	db.commit()
	outcome = process(db, c2b_body("TT001", 400), at(21))
	assert outcome.status == LogStatus.UNALLOCATED
	assert outcome.reason == f"substitute {SUBSTITUTE} of vehicle TT001 is Suspended"


def test_two_active_substitutions_on_one_date_are_not_guessed(db, fleet):
	make_driver(db, "D000010")
	make_substitution(db, "TT001", REGULAR, "D000010", TO, TO)
	db.commit()
	assert process(db, c2b_body("TT001", 400), at(21)).driver == SUBSTITUTE
	outcome = process(db, c2b_body("TT001", 400), at(22))
	assert outcome.status == LogStatus.UNALLOCATED and "several active substitutions" in outcome.reason


def test_sunny_id_repayments_are_unchanged_by_a_substitution(db, fleet):
	outcome = process(db, c2b_body(REGULAR, 400), at(21))
	assert outcome.status == LogStatus.PROCESSED and outcome.driver == REGULAR
	assert transaction(db, outcome.transaction)["transaction_type"] == "Repayment"
	assert counts(db)["TukTuk Payout"] == 0


def test_a_redelivery_during_and_after_the_substitution_changes_nothing(db, fleet):
	body = c2b_body("TT001", 400)
	first = process(db, body, at(21))
	assert first.driver == SUBSTITUTE
	before = (counts(db), driver_state(db, SUBSTITUTE), driver_state(db, REGULAR))
	for day in (21, 23):  # again the same day, and after the substitution ended
		again = process(db, body, at(day))
		assert again.status == LogStatus.DUPLICATE and again.driver == SUBSTITUTE
	assert (counts(db), driver_state(db, SUBSTITUTE), driver_state(db, REGULAR)) == before
	conflict = process(db, {**body, "TransAmount": "500.00"}, at(21))
	assert conflict.status == LogStatus.CONFLICT
	assert check_books(db).clean


def test_the_logged_path_routes_by_its_clock(db, fleet):
	from tuktuk_management.ledger.callback_log import (
		C2B_CONFIRMATION,
		process_logged_confirmation,
		store_callback,
	)

	body = raw(c2b_body("TT001", 400))
	log = store_callback(db, endpoint=C2B_CONFIRMATION, raw_body=body, received_at=at(21))
	db.commit()
	statements = _counting(db)
	outcome = process_logged_confirmation(db, log, body, settings=load_settings(db), now=at(21))
	db.commit()
	assert outcome.status == LogStatus.PROCESSED and outcome.driver == SUBSTITUTE
	assert not [s for s in statements if s.startswith("update `tabTukTuk Transaction`")]  # planned right


def _counting(db) -> list[str]:
	"""Record the first words of every statement ``db`` sends from now on."""
	statements: list[str] = []
	original = type(db).sql

	def counting(query, values=None, as_dict=False):
		statements.append(" ".join(query.split())[:40])
		return original(db, query, values, as_dict)

	db.sql = counting
	return statements


def test_a_substitute_payment_costs_no_more_statements_than_a_regular_one(db, fleet):
	"""The speed rule: substitutions and vehicle status are read by the same two statements (the
	look-up and the driver lock) as before; nothing is added to the payment path."""
	per_payment = {}
	for day in (20, 21):
		statements = _counting(db)
		outcome = process(db, c2b_body("TT001", 400), at(day))
		del db.sql
		per_payment[outcome.driver] = statements
	assert len(per_payment[REGULAR]) == len(per_payment[SUBSTITUTE])
	assert per_payment[REGULAR] == per_payment[SUBSTITUTE]
	selects = [s for s in per_payment[SUBSTITUTE] if s.startswith("select")]
	assert [s.split(",")[0] for s in selects] == ["select doctype", "select 'existing'", "select v.status"], (
		selects
	)


def _between_plan_and_lock(db_url, change):
	"""An on_step hook running ``change(other)`` on another connection, committed, right after the
	transaction row is written (routed and planned, the driver not locked yet)."""
	done = []

	def on_step(name: str) -> None:
		if name == "transaction_inserted" and not done:
			done.append(name)
			with MariaDB(db_url) as other:
				change(other)
				other.commit()

	return on_step


@pytest.mark.parametrize(
	("day", "change", "reason"),
	[
		(21, "update `tabTukTuk Vehicle` set status = 'Maintenance'", "vehicle TT001 is in Maintenance"),
		(20, "update `tabTukTuk Vehicle` set status = 'Retired'", "vehicle TT001 is Retired"),
		(21, "update `tabTukTuk Substitution` set status = 'Cancelled'", "substitution changed"),
		(20, "update `tabTukTuk Substitution` set from_date = '2026-11-20'", "substitution changed"),
		(21, "update `tabTukTuk Substitution` set substitute = 'D000001'", "substitution changed"),
	],
)
def test_a_route_changed_between_look_up_and_lock_goes_to_suspense(db, db_url, fleet, day, change, reason):
	"""Routed and planned from the unlocked look-up, then another connection commits a change of
	the vehicle or the substitution: the locking read sees it, nobody is paid by a stale route."""
	before = {driver: driver_state(db, driver) for driver in (REGULAR, SUBSTITUTE)}
	body = c2b_body("TT001", 400)
	outcome = process(db, body, at(day), on_step=_between_plan_and_lock(db_url, lambda o: o.sql(change)))
	assert outcome.status == LogStatus.UNALLOCATED and reason in outcome.reason
	assert outcome.payout is None and outcome.driver is None
	row = transaction(db, body["TransID"])
	assert row["payment_status"] == "Unallocated" and row["driver"] is None and row["driver_share"] == 0
	assert payouts(db, body["TransID"]) == []  # the payout queued before the lock is gone
	assert {driver: driver_state(db, driver) for driver in before} == before
	assert check_books(db).clean


def test_a_substitution_saved_while_a_payment_holds_the_lock_waits_for_it(db, db_url, fleet):
	"""The payment's locking read covers the vehicle's substitution rows: a cancellation by another
	connection waits until the payment commits (then it is the next payment's business)."""
	body = c2b_body("TT001", 400)
	waited = []

	def on_step(name: str) -> None:
		if name == "ledger_lines_inserted" and not waited:  # the driver, vehicle and substitution are locked
			with MariaDB(db_url) as other:
				other.sql("set session innodb_lock_wait_timeout = 1")
				try:
					other.sql(
						"update `tabTukTuk Substitution` set status = 'Cancelled' where name = 'SUB-TT001'"
					)
				except Exception as exc:
					waited.append(str(exc))
				other.rollback()

	outcome = process(db, body, at(21), on_step=on_step)
	assert waited and "Lock wait timeout" in waited[0]
	assert outcome.status == LogStatus.PROCESSED and outcome.driver == SUBSTITUTE


def test_allocating_to_a_vehicle_during_a_substitution_pays_the_substitute(db, fleet):
	outcome = process(db, c2b_body("NOWHERE", 400), at(21))
	assert outcome.status == LogStatus.UNALLOCATED
	allocation = allocate_payment(
		db, outcome.transaction, vehicle="TT001", settings=load_settings(db), now=at(21)
	)
	db.commit()
	assert allocation.driver == SUBSTITUTE and allocation.split.driver_share_kes == 120
	row = transaction(db, outcome.transaction)
	assert (row["payment_status"], row["driver"], row["tuktuk"]) == ("Allocated", SUBSTITUTE, "TT001")
	assert check_books(db).clean


def test_vehicle_collections_say_who_was_paid_for_the_vehicle_and_as_what(db, fleet):
	from tuktuk_management.ledger.vehicle_figures import vehicle_collections, vehicle_payments

	for day, amount, trans_time in ((20, 400, "20261120100000"), (21, 400, "20261121100000")):
		process(db, c2b_body("TT001", amount, TransTime=trans_time), at(day))
	process(db, c2b_body("TT001", 100, TransTime="20261121110000"), at(21))
	db.sql("update `tabTukTuk Vehicle` set status = 'Maintenance' where name = 'TT001'")
	db.commit()
	process(db, c2b_body("TT001", 50, TransTime="20261122100000"), at(22))
	rows = vehicle_collections(db, date(2026, 11, 20), date(2026, 11, 22), tuktuk="TT001")
	summary = [
		(
			str(r["business_date"]),
			r["driver"],
			r["paid_as"],
			r["substitution"],
			r["payments_count"],
			r["amount_kes"],
		)
		for r in rows
	]
	assert summary == [
		("2026-11-20", REGULAR, "Assigned driver", None, 1, 400),
		("2026-11-21", SUBSTITUTE, "Substitute", "SUB-TT001", 2, 500),
		("2026-11-22", None, "Suspense", None, 1, 50),
	]
	assert rows[1]["target_contribution_kes"] + rows[1]["driver_share_kes"] == 500
	assert rows[2]["unallocated_kes"] == 50
	assert vehicle_collections(db, date(2026, 11, 20), date(2026, 11, 22), tuktuk="TT999") == []

	# The vehicle's statement: each payment, in time order, with who was paid and as what.
	statement = vehicle_payments(db, "TT001", date(2026, 11, 20), date(2026, 11, 22))
	assert [
		(str(r["paid_at"]), r["driver"], r["paid_as"], r["amount_kes"], r["payments_count"])
		for r in statement
	] == [
		("2026-11-20 10:00:00", REGULAR, "Assigned driver", 400, 1),
		("2026-11-21 10:00:00", SUBSTITUTE, "Substitute", 400, 1),
		("2026-11-21 11:00:00", SUBSTITUTE, "Substitute", 100, 1),
		("2026-11-22 10:00:00", None, "Suspense", 50, 1),
	]
	assert all(r["transaction"] for r in statement)
	# Its sums are the collections' sums, day by day.
	assert sum(r["amount_kes"] for r in statement) == sum(r["amount_kes"] for r in rows) == 950
	assert sum(r["driver_share_kes"] for r in statement) == sum(r["driver_share_kes"] for r in rows)


@pytest.mark.parametrize(
	"step", ["transaction_inserted", "payout_queued", "ledger_lines_inserted", "caches_updated"]
)
def test_a_failure_at_each_step_of_a_substitute_payment_persists_nothing(db, fleet, step):
	"""The stored confirmation of a payment to the substitute: a failure injected at each step
	leaves no row and no balance behind; the retry pays the substitute once."""
	from tests.test_atomicity import Injected, fail_at
	from tuktuk_management.ledger.callback_log import (
		C2B_CONFIRMATION,
		process_logged_confirmation,
		store_callback,
	)

	body = raw(c2b_body("TT001", 400))
	log = store_callback(db, endpoint=C2B_CONFIRMATION, raw_body=body, received_at=at(21))
	db.commit()
	before = (counts(db), driver_state(db, SUBSTITUTE), driver_state(db, REGULAR))
	reached: list[str] = []
	with pytest.raises(Injected):
		process_logged_confirmation(
			db, log, body, settings=load_settings(db), now=at(21), on_step=fail_at(step, reached)
		)
	assert reached[-1] == step
	db.rollback()
	assert (counts(db), driver_state(db, SUBSTITUTE), driver_state(db, REGULAR)) == before
	outcome = process_logged_confirmation(db, log, body, settings=load_settings(db), now=at(21))
	db.commit()
	assert outcome.status == LogStatus.PROCESSED and outcome.driver == SUBSTITUTE
	assert driver_state(db, SUBSTITUTE)["payout_pending"] == 120
	assert check_books(db).clean
