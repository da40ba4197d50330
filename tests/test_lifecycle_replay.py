"""A driver's whole life replayed without Frappe: three business days of real-shaped C2B
confirmations through the standalone runner, with cash deposits, a day off, a substitution, a
withdrawal and a termination (samples/lifecycle/). Every figure below was worked out by hand from
DESIGN §3, §5 and §8 (the arithmetic is in docs/lifecycle-replay.md); the test checks the books
to the shilling.

Fleet: target 1000 KES, 50 %, instant payouts off. D000101 drives TT101, D000102 TT102 (day off
on 2 December), D000103 TT103 (relieved on 2 December by D000104, a Substitute with target 600 and
40 %). Each regular driver pays a 1000 KES cash deposit, the substitute 500.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuktuk_management.standalone.db import DatabaseURL, MariaDB

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "lifecycle"


@pytest.fixture
def runner(db_url):
	url = f"mysql://{db_url.user}@{db_url.host}:{db_url.port}/{db_url.database}_life"

	def run(now: str, *args: str, expect: int = 0):
		env = {**os.environ, "TUKTUK_DB_URL": url, "TUKTUK_NOW": now}
		done = subprocess.run(
			[sys.executable, "-m", "tuktuk_management.cli", *args],
			cwd=ROOT,
			capture_output=True,
			text=True,
			timeout=300,
			env=env,
		)
		assert done.returncode == expect, (args, done.stdout, done.stderr)
		return json.loads(done.stdout.splitlines()[0] if args[0] == "replay" else done.stdout)

	run.url = url
	yield run
	with MariaDB(DatabaseURL.parse(url), database="") as server:
		server.sql(f"drop database if exists `{db_url.database}_life`")


def replay_three_days(run):
	run("2026-12-01T07:00:00", "init")
	loaded = run("2026-12-01T07:00:00", "load", str(SAMPLES / "fleet.json"))
	assert loaded["loaded"]["TukTuk Day Off"] == 1 and loaded["loaded"]["TukTuk Substitution"] == 1
	for driver, amount in (("D000101", 1000), ("D000102", 1000), ("D000103", 1000), ("D000104", 500)):
		run("2026-12-01T07:30:00", "deposit", driver, str(amount), "--reference", f"CASH-{driver}")
	days = {}
	days["replay1"] = run("2026-12-01T16:00:00", "replay", str(SAMPLES / "day1.jsonl"))
	days["close1"] = run("2026-12-01T23:30:00", "close-day", "--date", "2026-12-01")
	days["replay2"] = run("2026-12-02T16:00:00", "replay", str(SAMPLES / "day2.jsonl"))
	days["withdrawal"] = run("2026-12-02T17:00:00", "withdraw", "D000102", "300", "--approve")
	days["close2"] = run("2026-12-02T23:30:00", "close-day", "--date", "2026-12-02")
	days["replay3"] = run("2026-12-03T12:00:00", "replay", str(SAMPLES / "day3.jsonl"))
	days["terminate"] = run("2026-12-03T15:00:00", "terminate", "D000101", "--reason", "Moved away")
	days["terminate_again"] = run("2026-12-03T15:05:00", "terminate", "D000101", "--reason", "Moved away")
	days["late"] = run("2026-12-03T16:30:00", "replay", str(SAMPLES / "day3-after-termination.jsonl"))
	days["close3"] = run("2026-12-03T23:30:00", "close-day", "--date", "2026-12-03")
	return days


def test_three_days_with_a_day_off_a_substitution_and_a_termination_match_the_rules(runner):
	days = replay_three_days(runner)

	# Day 1: five payments and one redelivery (changes nothing).
	assert (days["replay1"]["applied"], days["replay1"]["duplicates"]) == (5, 1)
	assert days["close1"]["collected_kes"] == 2300 and days["close1"]["rollover_kes"] == 700
	# Day 2: the withdrawal is approved with one payout; the close judges D000101 and D000104 only.
	assert days["withdrawal"]["status"] == "Approved" and days["withdrawal"]["amount_kes"] == 300
	assert (days["close2"]["targets_met"], days["close2"]["targets_missed"]) == (1, 1)
	assert days["close2"]["collected_kes"] == 1350  # the day-off driver's 500 still moves to revenue
	# Day 3: the termination closes the day, refunds the deposit once and pays everything at once.
	term = days["terminate"]
	assert term["status"] == "Terminated" and term["vehicle"] == "TT101"
	assert term["close"]["target_kes"] == 1750 and term["close"]["shortfall_kes"] == 1600
	assert term["settlement"] == {
		"deposit_kes": 1000,
		"payable_kes": 1900,
		"in_flight_kes": 0,
		"refund_kes": 1000,
		"payout_kes": 2900,
	}
	assert days["terminate_again"]["status"] == "Already Terminated"
	assert days["terminate_again"]["payout"] is None
	assert days["late"]["unallocated"] == 1  # TT101 has no driver any more: suspense, not dropped

	balances = {row["driver"]: row for row in runner("2026-12-03T23:45:00", "balances")}
	figures = {
		driver: (
			row["current_deposit_balance"],
			row["payout_pending"],
			row["target_rollover"],
			row["consecutive_misses"],
		)
		for driver, row in balances.items()
	}
	assert figures == {
		"D000101": (0, 2900, 1600, 2),  # refunded; the final payout waits for M-Pesa's result
		"D000102": (1000, 1800, 700, 2),  # the day off neither missed nor charged the rollover
		"D000103": (1000, 1200, 800, 1),  # substituted on day 2: not judged
		"D000104": (500, 900, 0, 0),  # paid for the vehicle's payments on day 2, own target
	}

	with MariaDB(DatabaseURL.parse(runner.url)) as db:
		closes = {
			(driver, str(day)): (judged, reason or "", met)
			for driver, day, judged, reason, met in db.sql(
				"""select driver, business_date, judged, not_judged_reason, target_met
				from `tabTukTuk Daily Close`"""
			)
		}
		accounts = dict(
			db.sql(
				"""select account, cast(sum(credit) - sum(debit) as signed)
				from `tabTukTuk Ledger Entry` group by account"""
			)
		)
		payouts = sorted(
			(driver, int(amount), status)
			for driver, amount, status in db.sql("select driver, amount, status from `tabTukTuk Payout`")
		)
		refund_lines = db.sql(
			"""select account, cast(debit as signed), cast(credit as signed) from `tabTukTuk Ledger Entry`
			where voucher_type = 'TukTuk Termination' order by account"""
		)
		driver_row = db.sql("select status, assigned_tuktuk from `tabTukTuk Driver` where name = 'D000101'")
		assignment_open = db.sql(
			"""select count(*) from `tabTukTuk Vehicle Assignment`
			where driver = 'D000101' and to_datetime is null"""
		)

	# Nobody is judged on a day off; the relieved driver is not judged; the substitute only on day 2.
	assert closes[("D000102", "2026-12-02")] == (0, "Day Off", 0)
	assert closes[("D000103", "2026-12-02")] == (0, "Substituted", 0)
	assert closes[("D000104", "2026-12-02")] == (1, "", 1)
	assert closes[("D000104", "2026-12-01")][:2] == (0, "Not Substituting")
	assert closes[("D000104", "2026-12-03")][:2] == (0, "Not Substituting")
	assert sum(1 for judged, _reason, _met in closes.values() if judged) == 8
	assert len(closes) == 12  # one close per driver and day, the termination's included

	# Where every shilling went: 11,500 KES received on the paybill and 3,500 KES cash deposits.
	assert accounts == {
		"paybill": -11_500,
		"cash": -3_500,
		"revenue": 5_000,  # 2300 + 1350 + 150 (termination close) + 1200
		"payable": 6_800,  # 2900 + 1800 + 1200 + 900
		"deposit": 2_500,  # 1000 + 1000 + 500; D000101's refunded
		"suspense": 700,
		"target": 0,
	}
	assert payouts == [("D000101", 2900, "Queued"), ("D000102", 300, "Queued")]
	assert refund_lines == (("deposit", 1000, 0), ("payable", 0, 1000))  # refunded once
	assert driver_row == (("Terminated", None),) and assignment_open == ((0,),)

	reconciled = runner("2026-12-03T23:50:00", "reconcile")
	assert reconciled["status"] == "Clean" and reconciled["invariant_breaches"] == 0
