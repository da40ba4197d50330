"""A replayed day against its M-Pesa statement: every injected fault found with the right
outcome, recovery through the confirmation path and the payout lifecycle, never twice."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

from tests import statement_fixture as fixture
from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.mpesa_statement import match, parse, recover, store
from tuktuk_management.standalone import statement as runner

ROOT = Path(__file__).resolve().parent.parent
ALL_FAULTS = fixture.Faults(
	dropped=4,
	results_lost=1,
	paid_twice=1,
	manual_withdrawal=True,
	changed_amount=True,
	not_in_statement=True,
)


def import_day(db, day, faults):
	lines = parse.parse_statement(fixture.day_statement(db, day, faults))
	result = store.import_statement(db, lines, now=fixture.settings_now(db), user="test")
	db.commit()
	return result, lines


def outcomes(db) -> dict[str, int]:
	return dict(db.sql("select match_status, count(*) from `tabTukTuk Statement Line` group by match_status"))


def status_of(db, receipt: str) -> tuple:
	return db.sql(
		"select match_status, payout, `transaction`, recovered from `tabTukTuk Statement Line` where name = %s",
		(receipt,),
	)[0]


def books_state(db) -> dict:
	return {
		"ledger": db.sql("select count(*), sum(debit), sum(credit) from `tabTukTuk Ledger Entry`")[0],
		"transactions": db.sql("select count(*), sum(amount) from `tabTukTuk Transaction`")[0],
		"payouts": db.sql("select status, count(*) from `tabTukTuk Payout` group by status order by status"),
		"logs": db.sql("select count(*) from `tabTukTuk Callback Log`")[0][0],
		"drivers": db.sql(
			"select name, current_balance, current_deposit_balance, payout_pending from `tabTukTuk Driver` order by name"
		),
	}


def runner_reconcile(db) -> dict:
	from tuktuk_management import cli

	return cli.reconcile_books(db).as_dict()


def test_every_fault_of_the_day_is_found_with_its_outcome(db):
	day = fixture.replay_day(db, ALL_FAULTS)
	imported, lines = import_day(db, day, ALL_FAULTS)
	assert imported.lines_new == len(lines)
	result = runner.match_statement(db, statement_import=imported.statement_import)
	summary = result.summary()
	fees = len(day.paid_payouts) + len(day.paid_twice)

	for trans_id in day.dropped:
		assert status_of(db, trans_id)[0] == match.NOT_IN_BOOKS
	assert summary["recoverable"]["count"] == len(day.dropped) == 4
	assert status_of(db, day.changed)[0] == match.DIFFERS
	(lost,) = day.lost_results
	lost_receipt = next(p[1] for p in day.paid_payouts if p[0] == lost)
	assert status_of(db, lost_receipt)[:2] == (match.PAYOUT_UNSETTLED, lost)
	twice_line = db.sql(
		"select name, payout from `tabTukTuk Statement Line` where match_status = %s", (match.PAID_TWICE,)
	)
	assert [payout for _, payout in twice_line] == day.paid_twice
	assert twice_line[0][0].startswith("PYD")
	assert status_of(db, "MWD0000001")[0] == match.NOT_IN_BOOKS
	assert outcomes(db)[match.CHARGE_POSTED] == fees
	assert summary["not_in_statement"]["transactions"] == 1
	assert summary["not_in_statement"]["entries"][0]["name"] == day.omitted
	expected_differences = len(day.dropped) + 1 + 1 + 1 + 1 + 1  # + changed, lost, twice, manual, omitted
	assert summary["differences"] == expected_differences and result.exit_code == 1
	assert outcomes(db)[match.MATCHED] == len(lines) - fees - expected_differences + 1  # omitted: no line
	# Fees are in the ledger once, against the paybill; the books still reconcile.
	charges = db.sql(
		"select sum(debit) - sum(credit) from `tabTukTuk Ledger Entry` where account = %s",
		(accounts.MPESA_CHARGES,),
	)[0][0]
	assert Decimal(charges) == fees * fixture.PAYOUT_FEE_KES
	runner.match_statement(db, statement_import=imported.statement_import)
	again = db.sql(
		"select sum(debit) - sum(credit) from `tabTukTuk Ledger Entry` where account = %s",
		(accounts.MPESA_CHARGES,),
	)[0][0]
	assert again == charges
	assert runner_reconcile(db)["status"] == "Clean"
	stored = json.loads(
		db.sql(
			"select match_summary from `tabTukTuk Statement Import` where name = %s",
			(imported.statement_import,),
		)[0][0]
	)
	assert stored["differences"] == expected_differences


def test_recovery_applies_each_missed_payment_once_and_settles_the_lost_result(db):
	day = fixture.replay_day(db, ALL_FAULTS)
	imported, _ = import_day(db, day, ALL_FAULTS)
	runner.match_statement(db, statement_import=imported.statement_import)
	pending_before = dict(db.sql("select name, payout_pending from `tabTukTuk Driver`"))

	done = runner.recover_statement(db)
	applied = [r for r in done if r.applied]
	assert sorted(r.receipt_no for r in applied if r.payout is None) == sorted(day.dropped)
	assert [r.payout for r in applied if r.payout] == day.lost_results
	for trans_id in day.dropped:
		transaction = db.sql(
			"""select t.amount, t.callback_log, l.source_ip from `tabTukTuk Transaction` t
			join `tabTukTuk Callback Log` l on l.name = t.callback_log where t.name = %s""",
			(trans_id,),
		)[0]
		body = next(p for p in day.payments if p["TransID"] == trans_id)
		assert Decimal(transaction[0]) == Decimal(body["TransAmount"])
		assert transaction[2] == f"statement:{trans_id}"
		assert status_of(db, trans_id)[2:] == (trans_id, 1)
	(lost,) = day.lost_results
	payout = db.sql("select status, receipt, result_code from `tabTukTuk Payout` where name = %s", (lost,))[0]
	assert payout[0] == "Paid" and payout[2] == recover.STATEMENT_RESULT_CODE
	driver, amount = db.sql("select driver, amount from `tabTukTuk Payout` where name = %s", (lost,))[0]
	assert runner_reconcile(db)["status"] == "Clean"

	state = books_state(db)
	assert [r for r in runner.recover_statement(db) if r.applied] == []
	assert books_state(db) == state

	result = runner.match_statement(db, statement_import=imported.statement_import)
	summary = result.summary()
	assert summary["recoverable"]["count"] == 0 and summary["payouts_to_settle"]["count"] == 0
	# What remains are the faults recovery must not paper over.
	assert outcomes(db).get(match.PAYOUT_UNSETTLED) is None
	assert summary["outcomes"][match.DIFFERS]["count"] == 1
	assert summary["outcomes"][match.PAID_TWICE]["count"] == 1
	assert summary["outcomes"][match.NOT_IN_BOOKS]["count"] == 1  # the manual withdrawal
	assert summary["not_in_statement"]["count"] == 1
	assert pending_before[driver] is not None and amount


def test_a_day_of_lost_callbacks_matches_to_the_shilling_after_one_recovery(db):
	faults = fixture.Faults(dropped=6, results_lost=2)
	day = fixture.replay_day(db, faults)
	imported, lines = import_day(db, day, faults)
	first = runner.match_statement(db, statement_import=imported.statement_import)
	assert first.exit_code == 1 and first.summary()["recoverable"]["count"] == 6
	assert first.summary()["payouts_to_settle"]["count"] == 2
	runner.recover_statement(db)
	after = runner.match_statement(db, statement_import=imported.statement_import)
	assert after.exit_code == 0, after.summary()
	start, end = imported.period_start, imported.period_end
	books_in = db.sql(
		"select sum(amount) from `tabTukTuk Transaction` where `timestamp` between %s and %s", (start, end)
	)[0][0]
	statement_in = sum(line.paid_in_kes for line in lines)
	assert Decimal(books_in) == statement_in
	paid_out = db.sql("select sum(credit) - sum(debit) from `tabTukTuk Ledger Entry` where account = 'b2c'")[
		0
	][0]
	fees = db.sql(
		"select sum(debit) - sum(credit) from `tabTukTuk Ledger Entry` where account = %s", ("mpesa_charges",)
	)[0][0]
	assert Decimal(paid_out) + Decimal(fees) == sum(line.withdrawn_kes for line in lines)
	assert runner_reconcile(db)["status"] == "Clean"
	state = books_state(db)
	assert runner.recover_statement(db) == []
	assert runner.match_statement(db).exit_code == 0
	assert books_state(db) == state


def test_importing_the_day_twice_changes_nothing(db):
	faults = fixture.Faults(dropped=2)
	day = fixture.replay_day(db, faults)
	imported, lines = import_day(db, day, faults)
	runner.match_statement(db, statement_import=imported.statement_import)
	runner.recover_statement(db)
	assert runner.match_statement(db, statement_import=imported.statement_import).exit_code == 0
	state = books_state(db)
	lines_before = db.sql("select * from `tabTukTuk Statement Line` order by name")
	again, _ = import_day(db, day, faults)
	assert (again.lines_new, again.lines_existing) == (0, len(lines))
	runner.match_statement(db, statement_import=again.statement_import)
	assert runner.recover_statement(db) == []
	assert books_state(db) == state
	assert db.sql("select * from `tabTukTuk Statement Line` order by name") == lines_before


def test_several_processes_recovering_at_once_apply_each_payment_once(db, db_url):
	faults = fixture.Faults(dropped=8, results_lost=1)
	day = fixture.replay_day(db, faults)
	imported, _ = import_day(db, day, faults)
	runner.match_statement(db, statement_import=imported.statement_import)
	url = f"mysql://{db_url.user}@{db_url.host}:{db_url.port}/{db_url.database}"
	command = [sys.executable, "-m", "tuktuk_management.cli", "--db-url", url, "recover"]
	processes = [
		subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
		for _ in range(4)
	]
	reports = []
	for process in processes:
		stdout, stderr = process.communicate(timeout=300)
		assert process.returncode == 0, stderr
		reports.append(json.loads(stdout))
	applied = Counter(
		r["receipt_no"]
		for report in reports
		for r in report["recoveries"]
		if r["applied"] and not r["payout"]
	)
	assert sorted(applied) == sorted(day.dropped) and set(applied.values()) == {1}
	settled = [
		r["payout"] for report in reports for r in report["recoveries"] if r["applied"] and r["payout"]
	]
	assert settled == day.lost_results
	db.rollback()
	logs = db.sql("select count(*) from `tabTukTuk Callback Log` where source_ip like 'statement:%%'")[0][0]
	assert logs == len(day.dropped)
	vouchers = db.sql(
		f"""select count(distinct voucher_no) from `tabTukTuk Ledger Entry` where voucher_type = %s
		and voucher_no in ({", ".join(["%s"] * len(day.dropped))})""",
		(accounts.TRANSACTION_DOCTYPE, *day.dropped),
	)[0][0]
	assert vouchers == len(day.dropped)
	assert runner_reconcile(db)["status"] == "Clean"
	assert runner.match_statement(db, statement_import=imported.statement_import).exit_code == 0


def test_a_bank_transfer_of_a_payouts_amount_is_not_taken_for_that_payout(db):
	faults = fixture.Faults(results_lost=1)
	day = fixture.replay_day(db, faults)
	(lost,) = day.lost_results
	receipt = next(p[1] for p in day.paid_payouts if p[0] == lost)
	lines = [
		dataclasses.replace(
			line,
			receipt_no="BNK0000001",
			details="Business Transfer to Bank - EQUITY BANK",
			reason_type="Business Transfer to Bank",
			other_party_info="EQUITY BANK",
		)
		if line.receipt_no == receipt
		else line
		for line in parse.parse_statement(fixture.day_statement(db, day, faults))
	]
	store.import_statement(db, lines, now=fixture.settings_now(db), user="test")
	db.commit()
	runner.match_statement(db)
	assert status_of(db, "BNK0000001")[:2] == (match.NOT_IN_BOOKS, None)
	assert db.sql("select status from `tabTukTuk Payout` where name = %s", (lost,))[0][0] == "Sent"
