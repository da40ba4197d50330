"""Reconciliation (DESIGN §6): drift written behind the app's back is found, recorded, fixed
under the row lock, and clean afterwards; exit codes; strict booleans."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.factories import c2b_body, driver_state, ledger_sum, make_driver, make_vehicle
from tuktuk_management.ledger import accounts, c2b, reconcile
from tuktuk_management.ledger.flags import parse_bool
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 21, 12, 0)


@pytest.fixture
def fleet(db):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", current_deposit_balance=500)
	make_driver(db, "D000002", None, current_balance=100)
	make_driver(db, "D000003", None)
	for amount in (400, 700):
		c2b.process_confirmation(db, c2b_body("TT001", amount), settings=load_settings(db), now=NOW)
	db.commit()


def run(db, **kwargs) -> reconcile.RunResult:
	result = reconcile.run_reconciliation(
		db, settings=load_settings(db), clock=lambda: NOW, triggered_by="test", **kwargs
	)
	db.commit()
	return result


def run_row(db, name: str) -> dict:
	return db.sql("select * from `tabTukTuk Reconciliation Run` where name = %s", (name,), as_dict=True)[0]


def discrepancy_rows(db, name: str) -> list[dict]:
	return db.sql(
		"""select driver, field, cached_kes, ledger_kes, difference_kes, fixed, parenttype, parentfield, idx
		from `tabTukTuk Reconciliation Discrepancy` where parent = %s order by idx""",
		(name,),
		as_dict=True,
	)


def test_clean_books_record_a_clean_run(db, fleet):
	result = run(db)
	assert (result.status, result.exit_code, result.report.drivers_checked) == ("Clean", 0, 3)
	row = run_row(db, result.run)
	assert (row["status"], row["triggered_by"], row["fix_requested"], row["drivers_checked"]) == (
		"Clean",
		"test",
		0,
		3,
	)
	assert discrepancy_rows(db, result.run) == []


def test_drift_found_reported_fixed_and_clean_afterwards(db, fleet):
	before = {d: driver_state(db, d) for d in ("D000001", "D000002")}
	db.sql("update `tabTukTuk Driver` set current_balance = current_balance + 37 where name = 'D000001'")
	db.sql(
		"update `tabTukTuk Driver` set payout_pending = 5, current_deposit_balance = 0 where name = 'D000002'"
	)
	db.commit()

	found = run(db)
	assert (found.status, found.exit_code) == ("Drift Found", 1)
	assert {(d["driver"], d["field"], d["difference"]) for d in found.report.discrepancies} == {
		("D000001", "current_balance", 37),
		("D000002", "payout_pending", 5),
	}
	assert found.total_discrepancy_kes == 42 and found.drivers_with_discrepancies == 2
	rows = discrepancy_rows(db, found.run)
	assert [(r["driver"], r["field"], int(r["difference_kes"]), r["fixed"]) for r in rows] == [
		("D000001", "current_balance", 37, 0),
		("D000002", "payout_pending", 5, 0),
	]
	assert {(r["parenttype"], r["parentfield"]) for r in rows} == {
		("TukTuk Reconciliation Run", "discrepancies")
	}
	assert int(run_row(db, found.run)["total_discrepancy_kes"]) == 42
	assert (
		driver_state(db, "D000001")["current_balance"] == before["D000001"]["current_balance"] + 37
	)  # dry run

	fixed = run(db, fix=True)
	assert (fixed.status, fixed.exit_code) == ("Fixed", 1)
	assert [r["fixed"] for r in discrepancy_rows(db, fixed.run)] == [1, 1]
	assert run_row(db, fixed.run)["fix_requested"] == 1
	for driver in ("D000001", "D000002"):
		state = driver_state(db, driver)
		assert state == before[driver]
		assert state["current_balance"] == ledger_sum(db, driver, accounts.TARGET)
		assert state["payout_pending"] == ledger_sum(db, driver, accounts.PAYABLE)

	again = run(db)
	assert (again.status, again.exit_code) == ("Clean", 0)


def test_fix_recomputes_left_to_target(db, fleet):
	db.sql("update `tabTukTuk Driver` set current_balance = 2999, left_to_target = 1 where name = 'D000002'")
	db.commit()
	run(db, fix=True)
	assert driver_state(db, "D000002")["left_to_target"] == 3000 - 100


def test_one_driver_only(db, fleet):
	db.sql("update `tabTukTuk Driver` set current_balance = 9 where name in ('D000002', 'D000003')")
	db.commit()
	result = run(db, fix=True, driver="D000003")
	assert result.report.drivers_checked == 1
	assert [d["driver"] for d in result.report.discrepancies] == ["D000003"]
	assert driver_state(db, "D000003")["current_balance"] == 0
	assert driver_state(db, "D000002")["current_balance"] == 9  # not touched
	assert run(db).status == "Drift Found"


def test_invariant_breach_is_never_called_fixed(db, fleet):
	db.sql(
		"""insert into `tabTukTuk Ledger Entry` (name, account, debit, credit, voucher_type, voucher_no)
		values ('forged0001', 'paybill', 10, 0, 'TukTuk Transaction', 'NOSUCHTX')"""
	)
	db.sql("update `tabTukTuk Driver` set current_balance = 1 where name = 'D000003'")
	db.commit()
	result = run(db, fix=True)
	assert (result.status, result.exit_code) == ("Drift Found", 1)
	assert result.report.invariant_breaches == 3  # unbalanced, without document, ledger total
	row = run_row(db, result.run)
	assert row["invariant_breaches"] == 3
	assert json.loads(row["details"])["unbalanced_vouchers"][0]["voucher_no"] == "NOSUCHTX"
	assert driver_state(db, "D000003")["current_balance"] == 0  # the cache drift was fixed anyway


def test_close_vouchers_need_their_daily_close_document(db, fleet):
	from tuktuk_management.ledger.close import close_day

	close_day(
		db,
		NOW.date(),
		settings=load_settings(db),
		clock=lambda: NOW,
		commit=db.commit,
		rollback=db.rollback,
	)
	assert run(db).status == "Clean"
	db.sql("delete from `tabTukTuk Daily Close` where driver = 'D000001'")
	db.commit()
	report = reconcile.check_books(db)
	assert report.postings_without_document == [
		{"voucher_type": "TukTuk Daily Close", "voucher_no": f"D000001-{NOW.date().isoformat()}"}
	]


def test_error_run_is_recorded(db, fleet):
	result = reconcile.record_error_run(
		db, error="boom", clock=lambda: NOW, triggered_by="test", fix=False, started_at=NOW
	)
	db.commit()
	assert (result.status, result.exit_code) == ("Error", 2)
	assert json.loads(run_row(db, result.run)["details"])["error"] == "boom"


# -- the runner, as a user runs it -----------------------------------------------------------------


@pytest.fixture
def cli_url(db_url, db, fleet):
	return f"mysql://{db_url.user}@{db_url.host}:{db_url.port}/{db_url.database}"


def cli(url, *args):
	return subprocess.run(
		[sys.executable, "-m", "tuktuk_management.cli", "--db-url", url, *args],
		cwd=ROOT,
		capture_output=True,
		text=True,
		timeout=120,
	)


def test_runner_reconcile_exit_codes(db, cli_url):
	assert cli(cli_url, "reconcile").returncode == 0
	db.sql(
		"update `tabTukTuk Driver` set current_deposit_balance = current_deposit_balance - 50 where name = 'D000001'"
	)
	db.commit()
	found = cli(cli_url, "reconcile")
	assert found.returncode == 1
	report = json.loads(found.stdout)
	assert report["status"] == "Drift Found" and "D000001" in found.stdout
	assert report["discrepancies"] == [
		{
			"driver": "D000001",
			"field": "current_deposit_balance",
			"cached": 450,
			"ledger": 500,
			"difference": -50,
		}
	]
	fixed = cli(cli_url, "reconcile", "--fix")
	assert fixed.returncode == 1 and json.loads(fixed.stdout)["status"] == "Fixed"
	clean = cli(cli_url, "reconcile")
	assert clean.returncode == 0 and json.loads(clean.stdout)["status"] == "Clean"
	db.rollback()
	statuses = [
		s
		for (s,) in db.sql("select status from `tabTukTuk Reconciliation Run` order by creation, started_at")
	]
	assert sorted(statuses) == sorted(["Clean", "Drift Found", "Fixed", "Clean"])


def test_runner_reconcile_error_exit_2_is_recorded(db, cli_url):
	db.sql("alter table `tabTukTuk Ledger Entry` rename to `tabTukTuk Ledger Entry Hidden`")
	try:
		result = cli(cli_url, "reconcile")
	finally:
		db.sql("alter table `tabTukTuk Ledger Entry Hidden` rename to `tabTukTuk Ledger Entry`")
	assert result.returncode == 2
	assert json.loads(result.stdout)["status"] == "Error"
	assert db.sql("select status from `tabTukTuk Reconciliation Run`") == (("Error",),)
	bad_url = cli("mysql://root@127.0.0.1:1/nowhere", "reconcile")
	assert bad_url.returncode == 2 and "error" in bad_url.stderr


# -- strict booleans -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [False, 0, "0", "false", "False", " FALSE ", "no", "off"])
def test_false_values(value):
	assert parse_bool(value, default=True) is False


@pytest.mark.parametrize("value", [True, 1, "1", "true", "TRUE", "yes", " on "])
def test_true_values(value):
	assert parse_bool(value) is True


@pytest.mark.parametrize("value", [None, ""])
def test_missing_values_take_the_default(value):
	assert parse_bool(value, default=True) is True
	assert parse_bool(value) is False


@pytest.mark.parametrize("value", [2, -1, "2", "maybe", "ture", 1.0, 0.0, [], {}, "none"])
def test_unrecognised_values_are_refused(value):
	with pytest.raises(ValueError, match="yes/no"):
		parse_bool(value)


def test_each_invariant_breach_is_named(db, fleet):
	assert reconcile.check_books(db).clean
	db.sql(
		"""insert into `tabTukTuk Transaction` (name, transaction_id, amount, driver)
		values ('NOPOSTING1', 'NOPOSTING1', 100, 'D000001')"""
	)
	db.sql(
		"""insert into `tabTukTuk Ledger Entry` (name, account, debit, credit, voucher_type, voucher_no)
		values ('orphan0001', 'paybill', 5, 0, null, null), ('orphan0002', 'suspense', 0, 5, null, null),
			('other00001', 'paybill', 9, 0, 'Journal Entry', 'JV-1'),
			('other00002', 'suspense', 0, 9, 'Journal Entry', 'JV-1')"""
	)
	report = reconcile.check_books(db)
	assert report.transactions_without_postings == ["NOPOSTING1"]
	assert sorted(report.postings_without_document, key=str) == sorted(
		[{"voucher_type": None, "voucher_no": None}, {"voucher_type": "Journal Entry", "voucher_no": "JV-1"}],
		key=str,
	)
	assert report.unbalanced_vouchers == [] and report.ledger_total_kes == 0
	assert report.invariant_breaches == 3
	db.rollback()


def _pay_in_process(url, bodies, results):
	from tuktuk_management.ledger.database import run_with_retry
	from tuktuk_management.standalone.db import MariaDB

	db = MariaDB(url)
	settings = load_settings(db)
	statuses = []
	for body in bodies:
		outcome = run_with_retry(
			lambda body=body: c2b.process_confirmation(db, body, settings=settings, now=NOW),
			rollback=db.rollback,
		)
		db.commit()
		statuses.append(outcome.status)
	db.close()
	results.put(statuses)


def _reconcile_in_process(url, rounds, results):
	from tuktuk_management.standalone.db import MariaDB

	db = MariaDB(url)
	statuses = []
	for _ in range(rounds):
		statuses.append(run(db, fix=True).status)
	db.close()
	results.put(statuses)


def test_reconcile_with_fix_while_payments_arrive_finds_no_false_drift(db, db_url, fleet):
	"""The set-based check reads one consistent snapshot and the fix re-reads under the row lock:
	payments in flight in three processes are never reported (or "fixed") as drift."""
	import multiprocessing

	bodies = [c2b_body("TT001", amount, f"LIVE{n:06d}") for n, amount in enumerate([150, 275, 90] * 40)]
	context = multiprocessing.get_context("fork")
	results = context.Queue()
	payers = [context.Process(target=_pay_in_process, args=(db_url, bodies[i::3], results)) for i in range(3)]
	checker = context.Process(target=_reconcile_in_process, args=(db_url, 15, results))
	for process in [payers[0], checker, *payers[1:]]:
		process.start()
	outputs = [results.get(timeout=300) for _ in range(4)]
	for process in [*payers, checker]:
		process.join(60)
		assert process.exitcode == 0
	statuses = [s for output in outputs for s in output]
	assert statuses.count(LogStatus.PROCESSED) == len(bodies)
	assert statuses.count("Clean") == 15  # every reconciliation during the payments was clean
	db.rollback()
	assert reconcile.check_books(db).clean
	assert db.sql("select count(*) from `tabTukTuk Reconciliation Discrepancy`")[0][0] == 0
