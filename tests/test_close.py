"""Daily close (DESIGN §5): rollover without compounding, idempotency, deposit deduction,
business-date boundaries, a failure at each step, and a close racing with payments."""

from __future__ import annotations

import json
import multiprocessing
import random
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import (
	c2b_body,
	counts,
	driver_state,
	ledger_sum,
	make_driver,
	make_vehicle,
	set_settings,
)
from tuktuk_management.cli import driver_balances, site_now
from tuktuk_management.ledger import accounts, c2b
from tuktuk_management.ledger.close import (
	ALREADY_CLOSED,
	CLOSED,
	NOT_DUE,
	close_day,
	close_driver,
	decide_close,
	due_business_date,
)
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus
from tuktuk_management.standalone.db import MariaDB

ROOT = Path(__file__).resolve().parent.parent
DAY1 = date(2026, 11, 21)
CLOSE_STEPS = ["daily_close_inserted", "ledger_lines_inserted", "caches_updated", "driver_updated"]


def at(day: date, hh: int = 12, mm: int = 0, ss: int = 0) -> datetime:
	return datetime.combine(day, time(hh, mm, ss))


def pay(db, account: str, amount_kes: int, when: datetime) -> c2b.C2BOutcome:
	outcome = c2b.process_confirmation(
		db, c2b_body(account, amount_kes), settings=load_settings(db), now=when
	)
	db.commit()
	assert outcome.status == LogStatus.PROCESSED, outcome
	return outcome


def close(db, day: date, when: datetime | None = None, **kwargs):
	return close_day(
		db,
		day,
		settings=load_settings(db),
		clock=lambda: when or at(day, 23, 59),
		commit=db.commit,
		rollback=db.rollback,
		**kwargs,
	)


def balances_of(db, driver: str) -> dict:
	return next(b for b in driver_balances(db) if b["driver"] == driver)


def closes(db, driver: str) -> list[dict]:
	return db.sql(
		"""select business_date, target_kes, collected_kes, shortfall_kes, target_met, consecutive_misses,
		rollover_kes, deposit_deducted_kes, voucher_no from `tabTukTuk Daily Close`
		where driver = %s order by business_date""",
		(driver,),
		as_dict=True,
	)


@pytest.fixture
def driver(db):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", daily_target=1000, fare_percentage=50)
	db.commit()
	return "D000001"


# -- the rule as a pure function ------------------------------------------------------------------


def test_three_missed_days_roll_over_without_compounding():
	rollover, misses, targets = 0, 0, []
	for _ in range(3):
		decision = decide_close(
			base_target_kes=3000,
			rollover_in_kes=rollover,
			collected_kes=0,
			consecutive_misses_in=misses,
			deposit_kes=0,
			deduct_from_deposit=False,
		)
		targets.append(decision.target_kes)
		rollover, misses = decision.rollover_kes, decision.consecutive_misses
	# base + the previous day's shortfall (a compounding tool would give 3000, 6000, 12000)
	assert targets == [3000, 6000, 9000]
	assert (rollover, misses) == (9000, 3)


@settings(max_examples=300, deadline=None)
@given(
	base=st.integers(0, 10_000),
	days=st.lists(st.integers(0, 15_000), min_size=1, max_size=10),
	deposit=st.integers(-500, 20_000),
	deduct=st.booleans(),
)
def test_close_rule_properties(base, days, deposit, deduct):
	rollover, misses = 0, 0
	for collected in days:
		d = decide_close(
			base_target_kes=base,
			rollover_in_kes=rollover,
			collected_kes=collected,
			consecutive_misses_in=misses,
			deposit_kes=deposit,
			deduct_from_deposit=deduct,
		)
		assert d.target_kes == base + rollover
		assert d.shortfall_kes == max(0, base + rollover - collected)
		assert d.target_met == (collected >= base + rollover)
		assert 0 <= d.deposit_deducted_kes <= (max(0, deposit) if deduct else 0)
		assert d.deposit_deducted_kes + d.rollover_kes == d.shortfall_kes
		assert d.consecutive_misses == (0 if d.target_met else misses + 1)
		deposit -= d.deposit_deducted_kes
		assert deposit >= min(0, deposit + d.deposit_deducted_kes)  # never pushed below zero
		rollover, misses = d.rollover_kes, d.consecutive_misses


def test_due_business_date_follows_the_close_time():
	assert due_business_date(at(DAY1, 23, 59), time(23, 59)) == DAY1
	assert due_business_date(at(DAY1, 23, 58), time(23, 59)) == DAY1 - timedelta(days=1)
	assert due_business_date(at(DAY1, 0, 5), time(23, 59)) == DAY1 - timedelta(days=1)


# -- against MariaDB -------------------------------------------------------------------------------


def test_multi_day_replay_matches_design_to_the_shilling(db, driver):
	"""Base target 1000, driver share 50 %: day 1 missed by 500, day 2 (T = 1500) met by a payment
	split at the target, day 3 missed with nothing, repeated closes change nothing."""
	pay(db, "TT001", 600, at(DAY1, 8))  # company 300, driver 300
	pay(db, "TT001", 400, at(DAY1, 9))  # company 200, driver 200
	assert close(db, DAY1).drivers_closed == 1
	b = balances_of(db, driver)
	assert (b["current_balance"], b["target_today"], b["left_to_target"], b["consecutive_misses"]) == (
		0,
		1500,
		1500,
		1,
	)
	assert b["payout_pending"] == 500 and b["target_rollover"] == 500

	day2 = DAY1 + timedelta(days=1)
	outcome = pay(db, "TT001", 4000, at(day2, 10))  # company 2000 capped at T - B = 1500
	assert (outcome.split.target_contribution_kes, outcome.split.driver_share_kes) == (1500, 2500)
	assert balances_of(db, driver)["left_to_target"] == 0
	assert close(db, day2).drivers_closed == 1
	assert close(db, day2).drivers_closed == 0  # repeated: nothing changes
	b = balances_of(db, driver)
	assert (b["current_balance"], b["target_today"], b["left_to_target"], b["consecutive_misses"]) == (
		0,
		1000,
		1000,
		0,
	)

	day3 = day2 + timedelta(days=1)
	close(db, day3)
	b = balances_of(db, driver)
	assert (b["target_today"], b["left_to_target"], b["consecutive_misses"], b["payout_pending"]) == (
		2000,
		2000,
		1,
		3000,
	)
	assert [
		(c["target_kes"], c["collected_kes"], c["shortfall_kes"], c["target_met"], c["rollover_kes"])
		for c in closes(db, driver)
	] == [(1000, 500, 500, 0, 500), (1500, 1500, 0, 1, 0), (1000, 0, 1000, 0, 1000)]
	assert closes(db, driver)[2]["voucher_no"] == ""  # nothing to move: no voucher
	assert ledger_sum(db, driver, accounts.TARGET) == 0
	revenue = db.sql("select sum(credit - debit) from `tabTukTuk Ledger Entry` where account = 'revenue'")
	assert int(revenue[0][0]) == 2000
	assert check_books(db).clean


def test_several_missed_days_then_met_and_miss_limit_alert(db, driver):
	set_settings(db, miss_limit=3)
	db.commit()
	for offset in range(3):
		summary = close(db, DAY1 + timedelta(days=offset))
	assert summary.miss_limit_alerts == [{"driver": driver, "consecutive_misses": 3, "rollover_kes": 3000}]
	b = balances_of(db, driver)
	assert (b["target_today"], b["consecutive_misses"]) == (4000, 3)
	day4 = DAY1 + timedelta(days=3)
	pay(db, driver, 4000, at(day4, 9))  # repayment to the Sunny ID: all of it reduces the shortfall
	summary = close(db, day4)
	assert summary.targets_met == 1 and summary.miss_limit_alerts == []
	b = balances_of(db, driver)
	assert (b["target_today"], b["consecutive_misses"], b["current_deposit_balance"]) == (1000, 0, 0)


def test_close_twice_changes_nothing(db, driver):
	pay(db, "TT001", 500, at(DAY1, 8))
	close(db, DAY1)
	before = counts(db), driver_state(db, driver), closes(db, driver)
	again = close(db, DAY1)
	assert (again.drivers_closed, again.already_closed) == (0, 0)  # not even listed
	assert close_driver(db, driver, DAY1, settings=load_settings(db), now=at(DAY1, 23, 59)).status == (
		ALREADY_CLOSED
	)
	earlier = close_driver(db, driver, DAY1 - timedelta(days=1), settings=load_settings(db), now=at(DAY1))
	assert earlier.status == ALREADY_CLOSED  # a later date is closed: nothing to do for an earlier one
	db.commit()
	assert (counts(db), driver_state(db, driver), closes(db, driver)) == before


def test_deposit_deduction_off_by_default_and_never_below_zero(db):
	make_driver(db, "D000001", make_vehicle(db, "TT001"), daily_target=1000, current_deposit_balance=300)
	make_driver(db, "D000002", make_vehicle(db, "TT002"), daily_target=1000, current_deposit_balance=5000)
	db.commit()
	close(db, DAY1)
	assert [balances_of(db, d)["current_deposit_balance"] for d in ("D000001", "D000002")] == [300, 5000]
	assert balances_of(db, "D000001")["target_today"] == 2000

	set_settings(db, deduct_shortfall_from_deposit=1)
	db.commit()
	day2 = DAY1 + timedelta(days=1)
	close(db, day2)  # T = 2000, nothing collected
	one, two = balances_of(db, "D000001"), balances_of(db, "D000002")
	assert (one["current_deposit_balance"], one["target_rollover"], one["consecutive_misses"]) == (0, 1700, 2)
	assert (two["current_deposit_balance"], two["target_rollover"], two["consecutive_misses"]) == (3000, 0, 2)
	close(db, day2 + timedelta(days=1))  # deposit 0: nothing more to take, never negative
	one = balances_of(db, "D000001")
	assert (one["current_deposit_balance"], one["target_rollover"]) == (0, 2700)
	assert ledger_sum(db, "D000001", accounts.DEPOSIT) == 0
	assert [c["deposit_deducted_kes"] for c in closes(db, "D000001")] == [0, 300, 0]
	assert check_books(db).clean


def test_business_date_boundary_and_inactive_or_new_drivers(db, driver):
	make_driver(db, "D000002", None, status="Inactive")
	db.sql("update `tabTukTuk Driver` set creation = %s where name = 'D000001'", (at(DAY1, 6),))
	make_vehicle(db, "TT003")
	make_driver(db, "D000003", "TT003")
	db.sql("update `tabTukTuk Driver` set creation = %s where name = 'D000003'", (at(DAY1, 23, 59, 59),))
	db.commit()
	pay(db, "TT001", 200, at(DAY1, 23, 59, 59))  # day 1: company 100
	pay(db, "TT001", 300, at(DAY1 + timedelta(days=1), 0, 0, 0))  # day 2: company 150
	summary = close(db, DAY1, when=at(DAY1 + timedelta(days=1), 0, 10))  # a late close
	assert summary.collected_kes == 100
	assert summary.drivers_closed == 2  # D000001 and D000003 (created on day 1); not the inactive one
	assert balances_of(db, driver)["current_balance"] == 150  # the payment after midnight stays
	assert balances_of(db, driver)["left_to_target"] == 1900 - 150
	inactive = close_driver(db, "D000002", DAY1, settings=load_settings(db), now=at(DAY1))
	assert inactive.status == NOT_DUE
	assert close(db, DAY1 + timedelta(days=1)).collected_kes == 150
	assert check_books(db).clean


def test_failure_injected_at_each_step_persists_nothing(db, driver):
	set_settings(db, deduct_shortfall_from_deposit=1)
	db.sql("update `tabTukTuk Driver` set daily_target = 5000 where name = %s", (driver,))
	db.commit()
	make_driver(db, "D000009", None, current_deposit_balance=400)
	pay(db, "TT001", 800, at(DAY1, 9))
	for step in CLOSE_STEPS:
		before = counts(db), driver_state(db, driver), balances_of(db, driver), closes(db, driver)

		def fail(name, step=step):
			if name == step:
				raise RuntimeError(f"injected at {name}")

		with pytest.raises(RuntimeError, match=step):
			close_driver(db, driver, DAY1, settings=load_settings(db), now=at(DAY1, 23, 59), on_step=fail)
		db.rollback()
		assert (counts(db), driver_state(db, driver), balances_of(db, driver), closes(db, driver)) == before
	# the chunked close records a failing driver, keeps going with the others, and closes it later
	summary = close(db, DAY1)
	assert summary.drivers_closed == 2 and summary.errors == []
	assert [c["collected_kes"] for c in closes(db, driver)] == [400]
	assert check_books(db).clean


def test_chunked_close_reports_a_failing_driver_and_closes_the_rest(db):
	for n in range(1, 6):
		make_driver(db, f"D00000{n}", None)
	db.commit()

	def fail_for_third(name):
		# the close row of D000003 is visible here only inside D000003's own unit of work
		if name == "driver_updated" and db.sql(
			"select 1 from `tabTukTuk Daily Close` where driver = 'D000003'"
		):
			raise RuntimeError("injected")

	first = close(db, DAY1, batch_size_max=2)
	assert (first.drivers_closed, first.last_driver, first.done) == (2, "D000002", False)
	rest = close(db, DAY1, after=first.last_driver, on_step=fail_for_third)
	assert rest.drivers_closed == 2 and [e["driver"] for e in rest.errors] == ["D000003"]
	assert close(db, DAY1).drivers_closed == 1  # the failed one is still due and closes now
	assert db.sql("select count(*) from `tabTukTuk Daily Close`")[0][0] == 5


# -- racing with payments, several processes -------------------------------------------------------

RACE_DRIVERS = ("D000001", "D000002", "D000003")


def _pay_many(url, payments, seed, results):
	db = MariaDB(url)
	settings_ = load_settings(db)
	order = list(payments)
	random.Random(seed).shuffle(order)
	statuses = []
	for trans_id, account, amount_kes, when in order:
		from tuktuk_management.ledger.database import run_with_retry

		outcome = run_with_retry(
			lambda: c2b.process_confirmation(
				db, c2b_body(account, amount_kes, trans_id), settings=settings_, now=when
			),
			rollback=db.rollback,
		)
		db.commit()
		statuses.append(outcome.status)
	db.close()
	results.put(statuses)


def _close_in_process(url, day, results):
	db = MariaDB(url)
	summary = close(db, day, when=at(day + timedelta(days=1), 0, 1))
	db.close()
	results.put(summary.as_dict())


def test_close_racing_with_payments_loses_nothing(db, db_url):
	for n, name in enumerate(RACE_DRIVERS, start=1):
		make_vehicle(db, f"TT00{n}")
		make_driver(db, name, f"TT00{n}", daily_target=2000)
	db.commit()
	rng = random.Random(3)
	day2 = DAY1 + timedelta(days=1)
	payments = [
		(f"RACE{n:06d}", f"TT00{rng.randint(1, 3)}", rng.choice([100, 250, 400]), when)
		for n, when in enumerate([at(DAY1, 23, 59, 30)] * 30 + [at(day2, 0, 0, 30)] * 120)
	]
	day1_payments, day2_payments = payments[:30], payments[30:]
	context = multiprocessing.get_context("fork")
	results = context.Queue()
	# day 1 is paid in full before its close; day 2's payments race with the close of day 1
	first = context.Process(target=_pay_many, args=(db_url, day1_payments, 0, results))
	first.start()
	assert set(results.get(timeout=120)) == {LogStatus.PROCESSED}
	first.join(30)
	chunks = [day2_payments[i::3] for i in range(3)]
	payers = [
		context.Process(target=_pay_many, args=(db_url, chunk, i, results)) for i, chunk in enumerate(chunks)
	]
	closer = context.Process(target=_close_in_process, args=(db_url, DAY1, results))
	for process in [*payers[:2], closer, payers[2]]:
		process.start()
	outputs = [results.get(timeout=300) for _ in range(4)]
	for process in [*payers, closer]:
		process.join(60)
		assert process.exitcode == 0
	summary = next(o for o in outputs if isinstance(o, dict))
	assert summary["drivers_closed"] == 3 and summary["errors"] == []
	assert [s for o in outputs if isinstance(o, list) for s in o] == [LogStatus.PROCESSED] * 120
	db.rollback()

	contributions: dict[tuple[str, bool], int] = {}
	for name, posted, credit in db.sql(
		"""select t.driver, l.posting_datetime, l.credit from `tabTukTuk Ledger Entry` l
		join `tabTukTuk Transaction` t on t.name = l.voucher_no and l.voucher_type = 'TukTuk Transaction'
		where l.account = 'target'"""
	):
		key = (name, posted < datetime.combine(day2, time(0)))
		contributions[key] = contributions.get(key, 0) + int(credit)
	for name in RACE_DRIVERS:
		day1_kes = contributions.get((name, True), 0)
		day2_kes = contributions.get((name, False), 0)
		closed = closes(db, name)
		assert [c["collected_kes"] for c in closed] == [day1_kes]  # exactly day 1, nothing of day 2
		assert driver_state(db, name)["current_balance"] == day2_kes  # day 2 stays for day 2
	assert db.sql("select count(*) from `tabTukTuk Transaction`")[0][0] == 150
	assert check_books(db).clean  # ledger = cache for every driver


def test_runner_close_day_twice(db, db_url, driver):
	pay(db, "TT001", 500, at(DAY1, 8))
	url = f"mysql://{db_url.user}@{db_url.host}:{db_url.port}/{db_url.database}"

	def run(*args):
		return subprocess.run(
			[sys.executable, "-m", "tuktuk_management.cli", "--db-url", url, *args],
			cwd=ROOT,
			capture_output=True,
			text=True,
			timeout=120,
		)

	first = run("close-day", "--date", DAY1.isoformat())
	assert first.returncode == 0, first.stderr
	assert json.loads(first.stdout)["drivers_closed"] == 1
	assert json.loads(first.stdout)["collected_kes"] == 250
	assert json.loads(first.stdout)["closed_for_date"] == 1
	second = run("close-day", "--date", DAY1.isoformat())
	assert second.returncode == 0, second.stderr
	assert json.loads(second.stdout)["drivers_closed"] == 0
	assert json.loads(second.stdout)["closed_for_date"] == 1  # the first run's close, unchanged
	bad = run("close-day", "--date", "21/11/2026")
	assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
	db.rollback()
	assert [c["collected_kes"] for c in closes(db, driver)] == [250]
	assert balances_of(db, driver)["target_today"] == 1750


def test_close_result_status_constants():
	assert {CLOSED, ALREADY_CLOSED, NOT_DUE} == {"Closed", "Already Closed", "Not Due"}


def test_settings_of_the_close_are_read_with_defaults(db):
	settings = load_settings(db)
	assert (settings.daily_close_time, settings.miss_limit, settings.deduct_shortfall_from_deposit) == (
		time(23, 59),
		3,
		False,
	)
	assert (settings.reconciliation_time, settings.reconciliation_recipients) == (time(2, 0), "")
	set_settings(
		db,
		daily_close_time="22:30:00.000000",
		miss_limit=0,
		deduct_shortfall_from_deposit=1,
		reconciliation_time="03:15:00",
		reconciliation_recipients="a@example.com\nb@example.com",
	)
	settings = load_settings(db)
	assert (settings.daily_close_time, settings.miss_limit, settings.deduct_shortfall_from_deposit) == (
		time(22, 30),
		0,
		True,
	)
	assert settings.reconciliation_time == time(3, 15)
	from tuktuk_management.ledger.settings import parse_recipients

	assert parse_recipients(settings.reconciliation_recipients) == ["a@example.com", "b@example.com"]
	make_driver(db, "D000001", make_vehicle(db, "TT001"))
	db.commit()
	alerts = [close(db, DAY1 + timedelta(days=n)).miss_limit_alerts for n in range(4)]
	assert alerts == [[], [], [], []]  # 0 turns the alert off
	assert balances_of(db, "D000001")["consecutive_misses"] == 4


def test_runner_replay_close_replay_close_balances_to_the_shilling(db, db_url, driver, tmp_path):
	"""The runner end to end over three business days: replayed callbacks, closes, a repeated
	close; ``balances`` as DESIGN §3/§5 say (base 1000, driver share 50 %)."""
	url = f"mysql://{db_url.user}@{db_url.host}:{db_url.port}/{db_url.database}"

	def run(*args):
		done = subprocess.run(
			[sys.executable, "-m", "tuktuk_management.cli", "--db-url", url, *args],
			cwd=ROOT,
			capture_output=True,
			text=True,
			timeout=120,
		)
		assert done.returncode == 0, done.stderr
		return json.loads(done.stdout)

	def replay(*amounts):
		path = tmp_path / f"day{len(list(tmp_path.iterdir()))}.jsonl"
		path.write_text("".join(json.dumps(c2b_body("TT001", amount)) + "\n" for amount in amounts))
		assert run("replay", str(path))["applied"] == len(amounts)

	day_a = site_now(load_settings(db).site_timezone).date()  # the runner posts at the site's now
	replay(600, 400)  # company 300 + 200
	assert run("close-day", "--date", day_a.isoformat())["shortfall_kes"] == 500
	replay(4000)  # company 2000 capped at the rolled-over target 1500
	day_b = day_a + timedelta(days=1)
	assert run("close-day", "--date", day_b.isoformat())["targets_met"] == 1
	assert run("close-day", "--date", day_b.isoformat())["drivers_closed"] == 0
	assert run("close-day", "--date", (day_b + timedelta(days=1)).isoformat())["targets_missed"] == 1
	assert run("reconcile")["status"] == "Clean"
	(b,) = run("balances")
	assert {k: b[k] for k in b if k != "last_close_date"} == {
		"driver": driver,
		"current_balance": 0,
		"left_to_target": 2000,
		"current_deposit_balance": 0,
		"payout_pending": 300 + 200 + 2500,
		"target_today": 2000,
		"target_rollover": 1000,
		"consecutive_misses": 1,
	}
	assert b["last_close_date"] == (day_b + timedelta(days=1)).isoformat()


def test_corrections_after_a_missed_day_use_the_rolled_over_target(db, driver):
	"""A target waiver after a close is measured against base + rollover (credit notes)."""
	from tuktuk_management.ledger import corrections
	from tuktuk_management.ledger.postings import CorrectionRefused

	close(db, DAY1)  # nothing collected: T for day 2 = 1000 + 1000
	day2 = at(DAY1 + timedelta(days=1), 9)

	def waiver(name: str, amount_kes: int):
		note = corrections.CreditNote(
			name=name, correction_type=corrections.TARGET_WAIVER, driver=driver, amount_kes=amount_kes
		)
		return corrections.submit_credit_note(db, note, settings=load_settings(db), now=day2)

	with pytest.raises(CorrectionRefused, match="owes 2000 KES"):
		waiver("CN-ROLL-1", 2001)
	db.rollback()
	waiver("CN-ROLL-2", 1500)
	db.commit()
	b = balances_of(db, driver)
	assert (b["current_balance"], b["left_to_target"], b["target_today"]) == (1500, 500, 2000)
	summary = close(db, DAY1 + timedelta(days=1))
	assert (summary.collected_kes, summary.shortfall_kes, summary.rollover_kes) == (1500, 500, 500)
	assert check_books(db).clean
