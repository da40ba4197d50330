"""Who the daily close judges (DESIGN §8): a day off, no vehicle, a vehicle out of service and a
regular driver replaced by a substitute are not judged (no miss, rollover kept), the day's
collections still move to revenue, a substitute is judged on the days they drive, the close
stays idempotent and the books reconcile; the page of due drivers is read in one query."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

import pytest

from tests.factories import CREATED, c2b_body, ledger_sum, make_driver, make_vehicle, set_settings
from tuktuk_management.cli import driver_balances
from tuktuk_management.ledger import accounts, c2b
from tuktuk_management.ledger.close import (
	ALREADY_CLOSED,
	close_day,
	close_driver,
	decide_close,
	miss_limit_drivers,
)
from tuktuk_management.ledger.days_off import DayOffStatus, open_request_key
from tuktuk_management.ledger.judged import NotJudged, not_judged_reason
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus

DAY1 = date(2026, 11, 21)
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY2 + timedelta(days=1)
_names = itertools.count(1)


def at(day: date, hh: int = 12, mm: int = 0) -> datetime:
	return datetime.combine(day, time(hh, mm))


def day_off(db, driver: str, day: date, status: str = DayOffStatus.APPROVED, name: str = "") -> str:
	name = name or f"DO{next(_names):05d}"
	db.sql(
		"""insert into `tabTukTuk Day Off` (name, creation, modified, owner, modified_by, driver,
		day_off_date, status, open_request_key) values (%s, %s, %s, 'Administrator', 'Administrator',
		%s, %s, %s, %s)""",
		(name, CREATED, CREATED, driver, day, status, open_request_key(driver, day, status)),
	)
	db.commit()
	return name


def substitution(db, vehicle: str, regular: str, substitute: str, start: date, end: date, status="Active"):
	db.sql(
		"""insert into `tabTukTuk Substitution` (name, creation, modified, owner, modified_by, vehicle,
		regular_driver, substitute, from_date, to_date, status) values (%s, %s, %s, 'Administrator',
		'Administrator', %s, %s, %s, %s, %s, %s)""",
		(f"SUB{next(_names):05d}", CREATED, CREATED, vehicle, regular, substitute, start, end, status),
	)
	db.commit()


def close(db, day: date, **kwargs):
	return close_day(
		db,
		day,
		settings=load_settings(db),
		clock=lambda: at(day, 23, 59),
		commit=db.commit,
		rollback=db.rollback,
		**kwargs,
	)


def pay(db, account: str, amount_kes: int, when: datetime) -> None:
	outcome = c2b.process_confirmation(
		db, c2b_body(account, amount_kes), settings=load_settings(db), now=when
	)
	db.commit()
	assert outcome.status == LogStatus.PROCESSED, outcome


def state(db, driver: str) -> dict:
	return next(b for b in driver_balances(db) if b["driver"] == driver)


def close_row(db, driver: str, day: date) -> dict:
	rows = db.sql(
		"""select judged, not_judged_reason, target_met, consecutive_misses, target_kes, collected_kes,
		shortfall_kes, rollover_kes, deposit_deducted_kes from `tabTukTuk Daily Close`
		where driver = %s and business_date = %s""",
		(driver, day),
		as_dict=True,
	)
	assert len(rows) == 1, rows
	return rows[0]


@pytest.fixture
def fleet(db):
	"""D000001..D000003 on TT001..TT003 (target 1000, 50 %); S000001 a Substitute without a vehicle."""
	for n in (1, 2, 3):
		make_driver(db, f"D00000{n}", make_vehicle(db, f"TT00{n}"), daily_target=1000, fare_percentage=50)
	make_driver(db, "D000009", None, daily_target=400)
	db.sql("update `tabTukTuk Driver` set driver_kind = 'Substitute' where name = 'D000009'")
	db.commit()
	return db


# -- the rule as pure functions -------------------------------------------------------------------


@pytest.mark.parametrize(
	("kwargs", "reason"),
	[
		({}, ""),
		({"day_off": True}, NotJudged.DAY_OFF),
		({"day_off": True, "substituting": True}, NotJudged.DAY_OFF),  # a day off wins
		({"replaced": True}, NotJudged.SUBSTITUTED),
		({"assigned_tuktuk": None}, NotJudged.UNASSIGNED),
		({"vehicle_status": "Maintenance"}, NotJudged.VEHICLE_NOT_ACTIVE),
		({"vehicle_status": "Retired"}, NotJudged.VEHICLE_NOT_ACTIVE),
		({"driver_kind": "Substitute", "assigned_tuktuk": None}, NotJudged.NOT_SUBSTITUTING),
		({"driver_kind": "Substitute", "assigned_tuktuk": None, "substituting": True}, ""),
		({"assigned_tuktuk": None, "substituting": True}, ""),  # a regular driver filling in
	],
)
def test_not_judged_reason(kwargs, reason):
	facts = {
		"driver_kind": "Regular",
		"assigned_tuktuk": "TT001",
		"vehicle_status": "Active",
		"day_off": False,
		"replaced": False,
		"substituting": False,
		**kwargs,
	}
	assert not_judged_reason(**facts) == reason


def test_a_day_not_judged_keeps_misses_and_rollover():
	decision = decide_close(
		base_target_kes=1000,
		rollover_in_kes=700,
		collected_kes=50,
		consecutive_misses_in=2,
		deposit_kes=5000,
		deduct_from_deposit=True,
		judged=False,
	)
	assert (decision.target_kes, decision.shortfall_kes, decision.deposit_deducted_kes) == (1700, 0, 0)
	assert (decision.rollover_kes, decision.consecutive_misses, decision.target_met) == (700, 2, False)


# -- the close against MariaDB --------------------------------------------------------------------


def test_day_off_is_not_judged_and_the_rollover_waits_for_the_next_judged_day(fleet):
	db = fleet
	set_settings(db, deduct_shortfall_from_deposit=1)
	db.commit()
	pay(db, "TT001", 600, at(DAY1, 9))  # company 300 of 1000: a miss of 700
	close(db, DAY1)
	assert (state(db, "D000001")["target_rollover"], state(db, "D000001")["consecutive_misses"]) == (700, 1)

	day_off(db, "D000001", DAY2)
	day_off(db, "D000002", DAY2, status=DayOffStatus.REQUESTED)  # not approved: still judged
	pay(db, "TT001", 200, at(DAY2, 10))  # the driver worked anyway: company 100
	summary = close(db, DAY2)
	row = close_row(db, "D000001", DAY2)
	assert (row["judged"], row["not_judged_reason"], row["target_met"]) == (0, NotJudged.DAY_OFF, 0)
	assert (row["consecutive_misses"], row["rollover_kes"], row["shortfall_kes"]) == (1, 700, 0)
	assert (row["collected_kes"], row["target_kes"], row["deposit_deducted_kes"]) == (100, 1700, 0)
	one = state(db, "D000001")
	assert (one["target_rollover"], one["consecutive_misses"], one["current_balance"]) == (700, 1, 0)
	assert one["left_to_target"] == 1700  # tomorrow: base 1000 + the rollover that waited
	assert close_row(db, "D000002", DAY2)["judged"] == 1
	assert summary.not_judged == {NotJudged.DAY_OFF: 1, NotJudged.NOT_SUBSTITUTING: 1}
	assert (summary.targets_met + summary.targets_missed, summary.drivers_closed) == (2, 4)
	# the day off's collections moved to revenue: the driver's target account is back to 0
	assert ledger_sum(db, "D000001", accounts.TARGET) == 0

	pay(db, "TT001", 3400, at(DAY3, 10))  # company 1700 reaches T = 1000 + 700
	close(db, DAY3)
	row = close_row(db, "D000001", DAY3)
	assert (row["judged"], row["target_kes"], row["target_met"], row["consecutive_misses"]) == (1, 1700, 1, 0)
	assert check_books(db).clean


def test_collections_of_a_day_off_move_to_revenue(fleet):
	db = fleet
	day_off(db, "D000003", DAY1)
	revenue_before = db.sql(
		"select coalesce(sum(credit - debit), 0) from `tabTukTuk Ledger Entry` where account = %s",
		(accounts.REVENUE,),
	)[0][0]
	pay(db, "TT003", 1000, at(DAY1, 11))  # company 500
	close(db, DAY1)
	revenue_after = db.sql(
		"select coalesce(sum(credit - debit), 0) from `tabTukTuk Ledger Entry` where account = %s",
		(accounts.REVENUE,),
	)[0][0]
	assert int(revenue_after - revenue_before) == 500
	assert close_row(db, "D000003", DAY1)["collected_kes"] == 500
	assert state(db, "D000003")["current_balance"] == 0
	assert check_books(db).clean


def test_unassigned_and_vehicle_out_of_service_are_not_judged(fleet):
	db = fleet
	db.sql("update `tabTukTuk Driver` set assigned_tuktuk = null where name = 'D000001'")
	db.sql("update `tabTukTuk Vehicle` set status = 'Maintenance' where name = 'TT002'")
	db.commit()
	close(db, DAY1)
	assert close_row(db, "D000001", DAY1)["not_judged_reason"] == NotJudged.UNASSIGNED
	assert close_row(db, "D000002", DAY1)["not_judged_reason"] == NotJudged.VEHICLE_NOT_ACTIVE
	assert close_row(db, "D000003", DAY1)["judged"] == 1
	assert [state(db, d)["consecutive_misses"] for d in ("D000001", "D000002", "D000003")] == [0, 0, 1]
	assert [state(db, d)["target_rollover"] for d in ("D000001", "D000002", "D000003")] == [0, 0, 1000]


def test_substituted_regular_driver_is_not_judged_and_the_substitute_is_on_their_own_target(fleet):
	db = fleet
	substitution(db, "TT002", "D000002", "D000009", DAY2, DAY2)
	substitution(db, "TT003", "D000003", "D000009", DAY1, DAY3, status="Cancelled")  # does not count
	close(db, DAY1)
	assert close_row(db, "D000009", DAY1)["not_judged_reason"] == NotJudged.NOT_SUBSTITUTING
	assert close_row(db, "D000002", DAY1)["judged"] == 1
	assert close_row(db, "D000003", DAY1)["judged"] == 1
	close(db, DAY2)
	regular, sub = close_row(db, "D000002", DAY2), close_row(db, "D000009", DAY2)
	assert (regular["judged"], regular["not_judged_reason"], regular["consecutive_misses"]) == (
		0,
		NotJudged.SUBSTITUTED,
		1,  # the miss of day 1 stays; day 2 adds none
	)
	assert regular["rollover_kes"] == 1000  # day 1's shortfall waits for the next judged day
	assert (sub["judged"], sub["target_kes"], sub["shortfall_kes"], sub["consecutive_misses"]) == (
		1,
		400,
		400,
		1,
	)
	close(db, DAY3)  # the substitution is over: the regular driver is judged again
	assert close_row(db, "D000002", DAY3)["judged"] == 1
	assert close_row(db, "D000002", DAY3)["target_kes"] == 2000
	assert close_row(db, "D000009", DAY3)["not_judged_reason"] == NotJudged.NOT_SUBSTITUTING
	assert state(db, "D000009")["consecutive_misses"] == 1  # no miss on a day they did not drive
	assert check_books(db).clean


def test_second_close_changes_nothing_and_a_single_close_reads_the_reason_itself(fleet):
	db = fleet
	day_off(db, "D000001", DAY1)
	pay(db, "TT001", 400, at(DAY1, 8))
	settings = load_settings(db)
	result = close_driver(db, "D000001", DAY1, settings=settings, now=at(DAY1, 23, 59))  # no page reason
	db.commit()
	assert (result.judged, result.not_judged_reason, result.collected_kes) == (False, NotJudged.DAY_OFF, 200)
	snapshot = (
		db.sql("select count(*) from `tabTukTuk Ledger Entry`")[0][0],
		db.sql("select count(*) from `tabTukTuk Daily Close`")[0][0],
		state(db, "D000001"),
	)
	again = close_driver(db, "D000001", DAY1, settings=settings, now=at(DAY1, 23, 59))
	db.commit()
	assert again.status == ALREADY_CLOSED
	summary = close(db, DAY1)
	assert summary.drivers_closed == 3 and summary.already_closed == 0  # the others; D000001 not listed
	assert close(db, DAY1).drivers_closed == 0
	assert snapshot[2] == state(db, "D000001")
	assert db.sql("select count(*) from `tabTukTuk Daily Close` where driver = 'D000001'")[0][0] == 1
	assert check_books(db).clean


def test_miss_limit_alert_skips_a_day_not_judged(fleet):
	db = fleet
	set_settings(db, miss_limit=1)
	db.commit()
	assert [a["driver"] for a in close(db, DAY1).miss_limit_alerts] == ["D000001", "D000002", "D000003"]
	day_off(db, "D000001", DAY2)
	alerts = close(db, DAY2).miss_limit_alerts
	assert [a["driver"] for a in alerts] == ["D000002", "D000003"]
	assert [d["driver"] for d in miss_limit_drivers(db, DAY2, 1)] == ["D000002", "D000003"]


class CountingDatabase:
	"""The test's MariaDB connection, counting the statements that read day offs."""

	def __init__(self, db):
		self.db, self.day_off_reads = db, 0

	def sql(self, query, values=None, as_dict=False):
		self.day_off_reads += "tabTukTuk Day Off" in query
		return self.db.sql(query, values, as_dict=as_dict)

	def __getattr__(self, name):
		return getattr(self.db, name)


def test_who_is_judged_is_read_once_per_page_not_once_per_driver(db):
	for n in range(1, 8):
		make_driver(db, f"D{n:06d}", make_vehicle(db, f"TT{n:03d}"))
	db.commit()
	for n in (2, 5):
		day_off(db, f"D{n:06d}", DAY1)
	counting = CountingDatabase(db)
	summary = close(counting, DAY1)
	# pages of 100 drivers: one listing query with the reasons, and one empty page at the end
	assert summary.drivers_closed == 7 and summary.not_judged == {NotJudged.DAY_OFF: 2}
	assert counting.day_off_reads == 2


def test_the_runner_loads_days_off_as_fixtures(db, tmp_path):
	from tuktuk_management.standalone.fleet import FixtureError, load_fixtures

	documents = [
		{
			"doctype": "TukTuk Day Off",
			"driver": "D000001",
			"day_off_date": DAY1.isoformat(),
			"reason": "clinic",
		},
		{
			"doctype": "TukTuk Day Off",
			"driver": "D000002",
			"day_off_date": DAY1.isoformat(),
			"status": "Requested",
		},
		{"doctype": "TukTuk Vehicle", "name": "TT001", "tuktuk_id": "TT001", "mpesa_account": "TT001"},
		{"doctype": "TukTuk Vehicle", "name": "TT002", "tuktuk_id": "TT002", "mpesa_account": "TT002"},
		{
			"doctype": "TukTuk Driver",
			"name": "D000001",
			"driver_name": "A",
			"sunny_id": "D000001",
			"status": "Active",
			"assigned_tuktuk": "TT001",
		},
		{
			"doctype": "TukTuk Driver",
			"name": "D000002",
			"driver_name": "B",
			"sunny_id": "D000002",
			"status": "Active",
			"assigned_tuktuk": "TT002",
		},
	]
	counts = load_fixtures(db, documents, now=CREATED)
	db.commit()
	assert counts["TukTuk Day Off"] == 2 and counts["TukTuk Driver"] == 2
	assert db.sql("select status, open_request_key from `tabTukTuk Day Off` order by driver") == (
		("Approved", f"D000001:{DAY1.isoformat()}"),
		("Requested", f"D000002:{DAY1.isoformat()}"),
	)
	close(db, DAY1)
	assert close_row(db, "D000001", DAY1)["not_judged_reason"] == NotJudged.DAY_OFF
	assert close_row(db, "D000002", DAY1)["judged"] == 1
	with pytest.raises(FixtureError, match="status"):
		load_fixtures(
			db,
			[
				{
					"doctype": "TukTuk Day Off",
					"driver": "D000001",
					"day_off_date": "2026-12-01",
					"status": "Maybe",
				}
			],
			now=CREATED,
		)
	db.rollback()
	with pytest.raises(Exception, match="Duplicate"):  # one open day off per driver and date
		load_fixtures(
			db,
			[{"doctype": "TukTuk Day Off", "driver": "D000001", "day_off_date": DAY1.isoformat()}],
			now=CREATED,
		)
	db.rollback()


def test_request_checks_past_closed_and_open_dates(fleet):
	from tuktuk_management.ledger.days_off import DayOffError, check_request

	db = fleet
	with pytest.raises(DayOffError, match="in the past"):
		check_request(db, "D000001", DAY1 - timedelta(days=1), today=DAY1)
	close(db, DAY1)
	with pytest.raises(DayOffError, match="already done"):
		check_request(db, "D000001", DAY1, today=DAY1)  # today, but its close has run
	check_request(db, "D000001", DAY2, today=DAY1)
	requested = day_off(db, "D000001", DAY2, status=DayOffStatus.REQUESTED)
	with pytest.raises(DayOffError, match="already a day off requested"):
		check_request(db, "D000001", DAY2, today=DAY1)
	check_request(db, "D000001", DAY2, today=DAY1, name=requested)  # the row itself, when edited
	check_request(db, "D000002", DAY2, today=DAY1)  # another driver
	day_off(db, "D000002", DAY3, status=DayOffStatus.REJECTED)
	check_request(db, "D000002", DAY3, today=DAY1)  # a rejected day can be asked again
	with pytest.raises(DayOffError, match="does not exist"):
		check_request(db, "D999999", DAY2, today=DAY1)


def _request_in_process(url, index, barrier, results):
	from tuktuk_management.ledger.database import is_duplicate_entry
	from tuktuk_management.ledger.days_off import check_request
	from tuktuk_management.standalone.db import MariaDB

	db = MariaDB(url)
	barrier.wait(30)
	try:
		check_request(db, "D000001", DAY2, today=DAY1)  # every process passes: nothing stored yet
		barrier.wait(30)  # all checked before anyone inserts: only the unique key can stop them now
		day_off(db, "D000001", DAY2, status=DayOffStatus.REQUESTED, name=f"CONCURRENT{index}")
		results.put("stored")
	except Exception as exc:
		db.rollback()
		duplicate = is_duplicate_entry(exc) and "open_request_key" in str(exc)  # not the name
		results.put("duplicate" if duplicate else repr(exc))
	db.close()


def test_concurrent_requests_for_one_day_store_one(fleet, db_url):
	import multiprocessing

	context = multiprocessing.get_context("fork")
	barrier, results = context.Barrier(4), context.Queue()
	processes = [
		context.Process(target=_request_in_process, args=(db_url, index, barrier, results))
		for index in range(4)
	]
	for process in processes:
		process.start()
	outcomes = sorted(results.get(timeout=120) for _ in processes)
	for process in processes:
		process.join(30)
	assert outcomes == ["duplicate", "duplicate", "duplicate", "stored"]
	fleet.rollback()
	assert fleet.sql("select count(*) from `tabTukTuk Day Off`")[0][0] == 1
