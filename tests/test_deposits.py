"""Deposits: cash deposit entries and deductions (posted once, reversed once, never below zero),
the activation rule and the Deposit report's figures, against a real MariaDB."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.corrections_helpers import Injected, assert_books_clean, balances, fail_at, snapshot
from tests.factories import make_driver, set_settings
from tuktuk_management.ledger import accounts, deposits
from tuktuk_management.ledger.deposits import DepositEntry, DepositKind
from tuktuk_management.ledger.owed.settings import load_money_settings
from tuktuk_management.ledger.postings import CorrectionRefused, NotFound
from tuktuk_management.ledger.rows import insert_statement, standard_values

NOW = datetime(2026, 11, 21, 12, 0, 0)
LATER = datetime(2026, 11, 22, 9, 0, 0)


@pytest.fixture
def fleet(db):
	make_driver(db, "D000001", current_deposit_balance=500)
	make_driver(db, "D000002", status="Inactive")
	db.commit()


def entry_row(
	db, name: str, driver: str, kind: str, amount_kes: int, reference="", reason=""
) -> DepositEntry:
	"""A submitted Deposit Entry row as the desk's submit leaves it before on_submit posts."""
	columns = ("driver", "kind", "amount_kes", "reference", "reason")
	db.sql(
		insert_statement("TukTuk Deposit Entry", columns),
		(*standard_values(name, NOW, "manager@example.com"), driver, kind, amount_kes, reference, reason),
	)
	return DepositEntry.from_fields(
		name,
		{"driver": driver, "kind": kind, "amount_kes": amount_kes, "reference": reference, "reason": reason},
	)


def voucher(db, name: str) -> list[tuple]:
	return [
		(account, party, int(debit), int(credit), int(is_reversal))
		for account, party, debit, credit, is_reversal in db.sql(
			"""select account, party, debit, credit, is_reversal from `tabTukTuk Ledger Entry`
			where voucher_type = 'TukTuk Deposit Entry' and voucher_no = %s order by creation, idx""",
			(name,),
		)
	]


def test_cash_deposit_posts_cash_to_deposit_once_and_reverses_once(db, fleet):
	entry = entry_row(db, "DEP-00001", "D000001", DepositKind.CASH_DEPOSIT, 1500, reference="RCPT-7")
	first = deposits.post_deposit_entry(db, entry, now=NOW)
	again = deposits.post_deposit_entry(db, entry, now=NOW)  # a second submit changes nothing
	db.commit()
	assert (first.replayed, first.deposit_kes_after, again.replayed) == (False, 2000, True)
	assert voucher(db, "DEP-00001") == [("cash", None, 1500, 0, 0), ("deposit", "D000001", 0, 1500, 0)]
	assert balances(db, "D000001")["deposit"] == 2000
	posted = db.sql(
		"select posted_at, deposit_after_kes from `tabTukTuk Deposit Entry` where name = 'DEP-00001'"
	)
	assert posted[0][0] == NOW and int(posted[0][1]) == 2000
	assert_books_clean(db)

	reversed_once = deposits.reverse_deposit_entry(db, "DEP-00001", now=LATER)
	reversed_again = deposits.reverse_deposit_entry(db, "DEP-00001", now=LATER)
	db.commit()
	assert (reversed_once.replayed, reversed_again.replayed) == (False, True)
	assert balances(db, "D000001")["deposit"] == 500
	assert voucher(db, "DEP-00001")[2:] == [("cash", None, 0, 1500, 1), ("deposit", "D000001", 1500, 0, 1)]
	assert_books_clean(db)


def test_deduction_goes_to_deductions_and_never_below_zero(db, fleet):
	charge = entry_row(db, "DEP-00002", "D000001", DepositKind.DAMAGE_CHARGE, 300, reason="broken mirror")
	assert deposits.post_deposit_entry(db, charge, now=NOW).deposit_kes_after == 200
	assert voucher(db, "DEP-00002") == [("deposit", "D000001", 300, 0, 0), ("deductions", None, 0, 300, 0)]
	too_much = entry_row(db, "DEP-00003", "D000001", DepositKind.OTHER_DEDUCTION, 201, reason="fine")
	before = snapshot(db)
	with pytest.raises(CorrectionRefused, match="below zero"):
		deposits.plan_deposit_entry(db, too_much)
	with pytest.raises(CorrectionRefused, match="below zero"):
		deposits.post_deposit_entry(db, too_much, now=NOW)
	assert snapshot(db) == before and voucher(db, "DEP-00003") == []
	exact = entry_row(db, "DEP-00004", "D000001", DepositKind.OTHER_DEDUCTION, 200, reason="fine")
	assert deposits.post_deposit_entry(db, exact, now=NOW).deposit_kes_after == 0
	db.commit()
	assert_books_clean(db)


def test_reversing_a_cash_deposit_already_used_is_refused(db, fleet):
	cash = entry_row(db, "DEP-00005", "D000002", DepositKind.CASH_DEPOSIT, 400, reference="R1")
	deposits.post_deposit_entry(db, cash, now=NOW)
	charge = entry_row(db, "DEP-00006", "D000002", DepositKind.DAMAGE_CHARGE, 350, reason="dent")
	deposits.post_deposit_entry(db, charge, now=NOW)
	db.commit()
	with pytest.raises(CorrectionRefused, match="below zero"):
		deposits.reverse_deposit_entry(db, "DEP-00005", now=LATER)
	deposits.reverse_deposit_entry(db, "DEP-00006", now=LATER)  # cancel the charge first
	deposits.reverse_deposit_entry(db, "DEP-00005", now=LATER)
	db.commit()
	assert balances(db, "D000002")["deposit"] == 0
	assert_books_clean(db)


@pytest.mark.parametrize("step", ["ledger_lines_inserted", "caches_updated", "document_updated"])
def test_a_failure_at_any_step_leaves_nothing(db, fleet, step):
	entry = entry_row(db, "DEP-00007", "D000001", DepositKind.CASH_DEPOSIT, 100, reference="R2")
	db.commit()
	before, reached = snapshot(db), []
	with pytest.raises(Injected):
		deposits.post_deposit_entry(db, entry, now=NOW, on_step=fail_at(step, reached))
	db.rollback()
	assert snapshot(db) == before and voucher(db, "DEP-00007") == []
	assert step in reached


def test_entry_fields_are_checked(db, fleet):
	with pytest.raises(CorrectionRefused, match="reference"):
		DepositEntry.from_fields("x", {"driver": "D000001", "kind": "Cash Deposit", "amount_kes": 5})
	with pytest.raises(CorrectionRefused, match="reason"):
		DepositEntry.from_fields("x", {"driver": "D000001", "kind": "Damage Charge", "amount_kes": 5})
	with pytest.raises(CorrectionRefused, match="whole shillings"):
		DepositEntry.from_fields("x", {"driver": "D000001", "kind": "Cash Deposit", "amount_kes": "5.5"})
	with pytest.raises(CorrectionRefused, match="more than 0"):
		DepositEntry.from_fields(
			"x", {"driver": "D000001", "kind": "Cash Deposit", "amount_kes": 0, "reference": "r"}
		)
	with pytest.raises(NotFound):
		deposits.post_deposit_entry(db, DepositEntry("x", "D999999", "Cash Deposit", 5, "r"), now=NOW)


def test_runner_records_and_posts_an_entry(db, fleet):
	posting = deposits.record_deposit_entry(
		db,
		driver="D000002",
		kind=DepositKind.CASH_DEPOSIT,
		amount_kes=700,
		reference="CASHBOOK-3",
		now=NOW,
		user="runner",
	)
	db.commit()
	assert posting.deposit_kes_after == 700 and balances(db, "D000002")["deposit"] == 700
	assert (
		db.sql("select docstatus from `tabTukTuk Deposit Entry` where name = %s", (posting.name,))[0][0] == 1
	)
	assert_books_clean(db)


def test_activation_rule():
	assert deposits.required_deposit_kes(0, 2000) == 2000
	assert deposits.required_deposit_kes("3000", 2000) == 3000
	assert deposits.required_deposit_kes(None, 0) == 0
	refuse = deposits.activation_refusal
	assert "500 KES short" in refuse(
		becoming_active=True, held_kes=1500, required_kes=2000, override_reason=""
	)
	assert (
		refuse(becoming_active=True, held_kes=1500, required_kes=2000, override_reason="owner's cousin")
		is None
	)
	assert refuse(becoming_active=True, held_kes=2000, required_kes=2000, override_reason=None) is None
	assert refuse(becoming_active=False, held_kes=0, required_kes=2000, override_reason=None) is None
	assert "short" in refuse(becoming_active=True, held_kes=0, required_kes=1, override_reason="   ")


def test_deposit_report_figures(db, fleet):
	set_settings(db, default_deposit_required_kes=1000)
	db.sql("update `tabTukTuk Driver` set deposit_required = 400 where name = 'D000001'")
	money = load_money_settings(db)
	assert money.default_deposit_required_kes == 1000
	standings = {s.driver: s for s in deposits.deposit_standings(db, money.default_deposit_required_kes)}
	assert (
		standings["D000001"].required_kes,
		standings["D000001"].held_kes,
		standings["D000001"].shortfall_kes,
	) == (
		400,
		500,
		0,
	)
	assert standings["D000002"].shortfall_kes == 1000
	short = deposits.deposit_standings(db, 1000, only_short=True)
	assert [s.driver for s in short] == ["D000002"]
	charge = entry_row(db, "DEP-00008", "D000001", DepositKind.DAMAGE_CHARGE, 120, reason="seat")
	deposits.post_deposit_entry(db, charge, now=NOW)
	history = deposits.deposit_history(db, "D000001")
	assert [(h["voucher_type"], h["in_kes"], h["out_kes"], h["balance_kes"]) for h in history] == [
		("TukTuk Driver", 500, 0, 500),
		("TukTuk Deposit Entry", 0, 120, 380),
	]
	assert history[1]["reason"] == "seat" and history[1]["kind"] == "Damage Charge"
	assert accounts.DEPOSIT_ENTRY_DOCTYPE in accounts.VOUCHER_DOCTYPES
