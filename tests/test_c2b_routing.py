"""C2B confirmation processing against MariaDB: every routing branch (DESIGN §3)."""

from __future__ import annotations

import pytest

from tests.factories import (
	c2b_body,
	counts,
	driver_state,
	ledger_sum,
	make_driver,
	make_vehicle,
	set_settings,
)
from tuktuk_management.ledger import c2b
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus


def process(db, body, now):
	outcome = c2b.process_confirmation(db, body, settings=load_settings(db), now=now)
	db.commit()
	return outcome


def transaction(db, name):
	return db.sql("select * from `tabTukTuk Transaction` where name = %s", (name,), as_dict=True)[0]


@pytest.fixture
def fleet(db):
	make_vehicle(db, "TT001", "tt001")
	make_driver(db, "D000001", "TT001")
	make_vehicle(db, "TT002")
	make_driver(db, "D000002", "TT002", daily_target=1000, fare_percentage=40)
	make_vehicle(db, "TT003")  # no driver
	make_vehicle(db, "TT004")
	make_driver(db, "D000004", "TT004", status="Inactive")
	make_driver(db, "D000005", None, current_balance=2500, current_deposit_balance=100)
	db.commit()


@pytest.mark.parametrize("account", ["TT001", "tt001", "  Tt001 ", "TT001\t"])
def test_vehicle_payment_routes_to_its_active_driver(db, fleet, now, account):
	outcome = process(db, c2b_body(account, 100), now)
	assert outcome.status == LogStatus.PROCESSED
	assert outcome.driver == "D000001"
	row = transaction(db, outcome.transaction)
	assert row["transaction_type"] == "Payment" and row["tuktuk"] == "TT001" and row["driver"] == "D000001"
	assert (row["amount"], row["target_contribution"], row["driver_share"]) == (100, 50, 50)
	assert driver_state(db, "D000001") == {
		"current_balance": 50,
		"left_to_target": 2950,
		"current_deposit_balance": 0,
		"payout_pending": 50,
	}
	payout = db.sql("select driver, amount, status, transaction from `tabTukTuk Payout`", as_dict=True)
	assert payout == [
		{"driver": "D000001", "amount": 50, "status": "Queued", "transaction": outcome.transaction}
	]
	lines = db.sql(
		"select account, party, debit, credit from `tabTukTuk Ledger Entry` where voucher_no = %s order by idx",
		(outcome.transaction,),
	)
	assert [(a, p, int(d), int(c)) for a, p, d, c in lines] == [
		("paybill", None, 100, 0),
		("target", "D000001", 0, 50),
		("payable", "D000001", 0, 50),
	]
	assert check_books(db).clean


def test_driver_target_and_percentage_override_the_global_ones(db, fleet, now):
	process(db, c2b_body("TT002", 1000), now)  # p = 40: company 600, target 1000
	process(db, c2b_body("TT002", 1000), now)  # company portion 600 but only 400 left
	state = driver_state(db, "D000002")
	assert state["current_balance"] == 1000 and state["left_to_target"] == 0
	assert state["payout_pending"] == 400 + 600
	process(db, c2b_body("TT002", 300), now)  # target met: all to the driver
	assert driver_state(db, "D000002")["payout_pending"] == 1300
	assert check_books(db).clean


def test_global_settings_changes_apply_to_the_next_payment(db, fleet, now):
	set_settings(db, global_daily_target=200, global_fare_percentage=25)
	db.commit()
	outcome = process(db, c2b_body("TT001", 400), now)
	assert (outcome.split.target_contribution_kes, outcome.split.driver_share_kes) == (200, 200)
	assert driver_state(db, "D000001")["left_to_target"] == 0


def test_sunny_id_is_a_repayment_shortfall_first_then_deposit(db, fleet, now):
	outcome = process(db, c2b_body("d000005", 800), now)  # balance 2500 of 3000: 500 short
	assert outcome.status == LogStatus.PROCESSED
	row = transaction(db, outcome.transaction)
	assert row["transaction_type"] == "Repayment"
	assert (row["target_contribution"], row["deposit_contribution"], row["driver_share"]) == (500, 300, 0)
	assert driver_state(db, "D000005") == {
		"current_balance": 3000,
		"left_to_target": 0,
		"current_deposit_balance": 400,
		"payout_pending": 0,
	}
	assert counts(db)["TukTuk Payout"] == 0
	assert check_books(db).clean


@pytest.mark.parametrize(
	("account", "reason"),
	[
		("UNKNOWN9", "unknown account number"),
		("", "no account number"),
		("TT003", "vehicle TT003 has no active driver"),
		("TT004", "vehicle TT004 has no active driver"),
		("D000004", "driver D000004 is Inactive"),
		("D999999", "unknown account number"),
	],
)
def test_unroutable_money_goes_to_suspense_never_dropped(db, fleet, now, account, reason):
	before = {d: driver_state(db, d) for d in ("D000001", "D000004", "D000005")}
	outcome = process(db, c2b_body(account, 250), now)
	assert outcome.status == LogStatus.UNALLOCATED
	assert reason in outcome.reason
	row = transaction(db, outcome.transaction)
	assert row["transaction_type"] == "Unallocated" and row["payment_status"] == "Unallocated"
	assert row["driver"] is None and row["amount"] == 250 and reason in row["unallocated_reason"]
	assert ledger_sum(db, None, "suspense") == 0  # suspense has no party
	suspense = db.sql(
		"select sum(credit) - sum(debit) from `tabTukTuk Ledger Entry` where account = 'suspense'"
	)
	assert int(suspense[0][0]) == 250
	assert {d: driver_state(db, d) for d in before} == before
	assert counts(db)["TukTuk Payout"] == 0
	assert check_books(db).clean


def test_vehicle_with_two_active_drivers_is_not_guessed(db, fleet, now):
	make_driver(db, "D000006", "TT001")
	db.commit()
	outcome = process(db, c2b_body("TT001", 100), now)
	assert outcome.status == LogStatus.UNALLOCATED and "several active drivers" in outcome.reason


def test_trans_time_is_stored_in_the_site_timezone(db, fleet, now):
	outcome = process(db, c2b_body("TT001", 100, TransTime="20261121235959"), now)
	assert str(transaction(db, outcome.transaction)["timestamp"]) == "2026-11-21 23:59:59"
	set_settings(db)
	db.sql("insert into `tabSingles` (doctype, field, value) values ('System Settings', 'time_zone', 'UTC')")
	db.commit()
	outcome = process(db, c2b_body("TT001", 100, TransTime="20261121235959"), now)
	assert str(transaction(db, outcome.transaction)["timestamp"]) == "2026-11-21 20:59:59"


@pytest.mark.parametrize(
	("body", "code"),
	[
		(c2b_body("TT001", 100), "0"),
		(c2b_body("tt003", 100), "0"),  # known vehicle without a driver: accepted, goes to suspense
		(c2b_body("D000001", 100), "0"),
		(c2b_body("NOPE", 100), "C2B00012"),
		(c2b_body("TT001", "10.50"), "C2B00013"),
		(c2b_body("TT001", "0"), "C2B00013"),
		(c2b_body("TT001", "-5"), "C2B00013"),
		(c2b_body("TT001", "abc"), "C2B00013"),
		(c2b_body("TT001", "250001"), "C2B00013"),
		(c2b_body("TT001", 100, shortcode="174379"), "C2B00015"),
		({"TransID": "X"}, "C2B00016"),
	],
)
def test_validation_decision(db, fleet, body, code):
	before = counts(db)
	result_code, _reason = c2b.decide_validation(db, body, load_settings(db))
	assert result_code == code
	assert counts(db) == before  # validation never moves money
