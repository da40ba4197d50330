"""The substitution rules and the vehicle assignment history (ledger/substitutions.py), the
runner's fixtures for them, and two concurrent saves of overlapping substitutions."""

from __future__ import annotations

import multiprocessing
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import c2b_body, make_driver, make_vehicle, raw
from tests.substitution_helpers import make_substitution
from tuktuk_management.ledger import c2b
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.substitutions import (
	Substitution,
	SubstitutionRefused,
	check_substitution,
	record_assignment,
)
from tuktuk_management.standalone.db import MariaDB
from tuktuk_management.standalone.fleet import FixtureError, load_fixtures

TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 9, 0, 0)


def sub(vehicle="TT001", regular="D000001", substitute="D000009", start=21, end=22, **kwargs) -> Substitution:
	return Substitution(
		name=kwargs.pop("name", None),
		vehicle=vehicle,
		regular_driver=regular,
		substitute=substitute,
		from_date=date(2026, 11, start),
		to_date=date(2026, 11, end),
		**kwargs,
	)


def save(db, substitution: Substitution, name: str | None = None) -> str:
	"""Check then insert, as the controller does in one transaction."""
	check_substitution(db, substitution, today=TODAY)
	return make_substitution(
		db,
		substitution.vehicle,
		substitution.regular_driver,
		substitution.substitute,
		substitution.from_date,
		substitution.to_date,
		status=substitution.status,
		name=name,
	)


@pytest.fixture
def fleet(db):
	for vehicle, driver in (("TT001", "D000001"), ("TT002", "D000002")):
		make_vehicle(db, vehicle)
		make_driver(db, driver, vehicle)
	make_driver(db, "D000009")  # a substitute, no vehicle
	make_driver(db, "D000008")  # another one
	make_driver(db, "D000007", status="Inactive")
	db.commit()


@pytest.mark.parametrize(
	("substitution", "message"),
	[
		(sub(start=23, end=22), "From date must be on or before the To date"),
		(sub(substitute="D000001"), "another driver than the regular driver"),
		(sub(regular="D000002"), "D000002 is not assigned to vehicle TT001"),
		(sub(substitute="D000007"), "Substitute D000007 is Inactive"),
		(sub(substitute="D000002"), "Substitute D000002 is assigned to vehicle TT002"),
		(sub(vehicle="TT404"), "Vehicle TT404 does not exist"),
		(sub(substitute="D404404"), "Substitute D404404 does not exist"),
		(sub(status="Paused"), "Status must be one of Active, Cancelled"),
	],
)
def test_a_substitution_breaking_a_rule_is_refused_with_a_clear_message(db, fleet, substitution, message):
	with pytest.raises(SubstitutionRefused, match=message):
		check_substitution(db, substitution, today=TODAY)


def test_a_retired_vehicle_takes_no_substitute(db, fleet):
	db.sql("update `tabTukTuk Vehicle` set status = 'Retired' where name = 'TT001'")
	with pytest.raises(SubstitutionRefused, match="Retired"):
		check_substitution(db, sub(), today=TODAY)
	check_substitution(db, sub(status="Cancelled"), today=TODAY)  # a cancelled one is history


def test_overlaps_on_the_vehicle_and_of_the_substitute_are_refused(db, fleet):
	first = save(db, sub(start=21, end=23))
	with pytest.raises(SubstitutionRefused, match=f"Substitution {first} already covers vehicle TT001"):
		check_substitution(db, sub(substitute="D000008", start=23, end=25), today=TODAY)
	with pytest.raises(SubstitutionRefused, match=r"already covers D000009 \(on vehicle TT001\)"):
		check_substitution(db, sub(vehicle="TT002", regular="D000002", start=20, end=21), today=TODAY)
	# Adjacent ranges, another substitute on another vehicle, and the substitution itself are fine.
	save(db, sub(substitute="D000008", start=24, end=25))
	save(db, sub(vehicle="TT002", regular="D000002", substitute="D000008", start=21, end=23))
	check_substitution(db, sub(start=21, end=23, name=first), today=TODAY)
	# A cancelled substitution blocks nothing.
	db.sql("update `tabTukTuk Substitution` set status = 'Cancelled' where name = %s", (first,))
	check_substitution(db, sub(vehicle="TT002", regular="D000002", start=20, end=20), today=TODAY)


def test_a_started_substitution_keeps_its_vehicle_drivers_and_start(db, fleet):
	saved = sub(start=20, end=22, name="SUBX")
	save(db, saved, name="SUBX")
	with pytest.raises(SubstitutionRefused, match="substitute, from date can no longer change"):
		check_substitution(
			db, sub(substitute="D000008", start=21, end=22, name="SUBX"), today=TODAY, before=saved
		)
	# Its end may move and it may be cancelled; a substitution that has not started may change.
	check_substitution(db, sub(start=20, end=21, name="SUBX"), today=TODAY, before=saved)
	check_substitution(db, sub(start=20, end=22, name="SUBX", status="Cancelled"), today=TODAY, before=saved)
	later = sub(start=25, end=26, name="SUBY")
	check_substitution(
		db, sub(substitute="D000008", start=24, end=26, name="SUBY"), today=TODAY, before=later
	)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
	existing=st.lists(st.tuples(st.integers(1, 20), st.integers(0, 4), st.booleans()), max_size=5),
	start=st.integers(1, 20),
	length=st.integers(0, 4),
)
def test_property_refused_exactly_when_an_active_range_of_the_vehicle_overlaps(
	db, fleet, existing, start, length
):
	db.sql("delete from `tabTukTuk Substitution`")
	for index, (first, days, active) in enumerate(existing):
		make_substitution(
			db,
			"TT001",
			"D000001",
			f"D1000{index:02d}",  # other substitutes: only the vehicle rule can refuse
			date(2026, 12, first),
			date(2026, 12, first) + timedelta(days=days),
			status="Active" if active else "Cancelled",
		)
	new = Substitution(
		None,
		"TT001",
		"D000001",
		"D000009",
		date(2026, 12, start),
		date(2026, 12, start) + timedelta(days=length),
	)
	overlaps = any(
		active and first <= start + length and start <= first + days for first, days, active in existing
	)
	try:
		check_substitution(db, new, today=TODAY)
		refused = False
	except SubstitutionRefused:
		refused = True
	db.rollback()
	assert refused == overlaps


def _save_in_process(db_url, substitute, start, barrier, results):
	with MariaDB(db_url) as db:
		barrier.wait()
		try:
			save(db, sub(substitute=substitute, start=start, end=start + 2))
			db.commit()
			results.put("saved")
		except SubstitutionRefused:
			db.rollback()
			results.put("refused")


def test_two_processes_saving_overlapping_substitutions_at_once_save_one(db, db_url, fleet):
	context = multiprocessing.get_context("fork")
	barrier, results = context.Barrier(2), context.Queue()
	workers = [
		context.Process(target=_save_in_process, args=(db_url, substitute, start, barrier, results))
		for substitute, start in (("D000009", 21), ("D000008", 22))
	]
	for worker in workers:
		worker.start()
	for worker in workers:
		worker.join(60)
	assert sorted(results.get(timeout=5) for _ in workers) == ["refused", "saved"]
	assert db.sql("select count(*) from `tabTukTuk Substitution` where status = 'Active'")[0][0] == 1


def assignments(db, driver=None):
	return db.sql(
		"""select vehicle, driver, from_datetime, to_datetime from `tabTukTuk Vehicle Assignment`"""
		+ (" where driver = %s" if driver else "")
		+ " order by from_datetime, vehicle",
		(driver,) if driver else None,
	)


def test_the_assignment_history_follows_the_driver_and_writes_only_on_a_change(db, fleet):
	t1, t2, t3 = NOW, NOW + timedelta(hours=5), NOW + timedelta(days=1)
	assert record_assignment(db, "D000009", "TT003", now=t1) is True
	assert record_assignment(db, "D000009", "TT003", now=t1 + timedelta(hours=1)) is False  # unchanged
	assert record_assignment(db, "D000009", "TT004", now=t2) is True
	assert record_assignment(db, "D000009", None, now=t3) is True
	assert record_assignment(db, "D000009", None, now=t3) is False
	assert assignments(db, "D000009") == (
		("TT003", "D000009", t1, t2),
		("TT004", "D000009", t2, t3),
	)


def test_load_takes_substitutions_vehicle_status_and_writes_the_assignment_history(db):
	documents = [
		{"doctype": "TukTuk Vehicle", "tuktuk_id": "TT001", "mpesa_account": "TT001"},
		{
			"doctype": "TukTuk Vehicle",
			"tuktuk_id": "TT002",
			"mpesa_account": "TT002",
			"status": "Maintenance",
		},
		{
			"doctype": "TukTuk Driver",
			"driver_name": "R",
			"sunny_id": "D000001",
			"mpesa_number": "254700000001",
			"assigned_tuktuk": "TT001",
		},
		{
			"doctype": "TukTuk Driver",
			"driver_name": "S",
			"sunny_id": "D000009",
			"mpesa_number": "254700000009",
			"driver_kind": "Substitute",
			"daily_target": 500,
			"fare_percentage": 30,
		},
		{
			"doctype": "TukTuk Substitution",
			"name": "SUB-1",
			"vehicle": "TT001",
			"regular_driver": "D000001",
			"substitute": "D000009",
			"from_date": "2026-11-21",
			"to_date": "2026-11-22",
			"reason": "leave",
		},
	]
	counts = load_fixtures(db, documents, now=NOW)
	db.commit()
	assert counts == {
		"TukTuk Settings": 0,
		"TukTuk Vehicle": 2,
		"TukTuk Driver": 2,
		"TukTuk Substitution": 1,
	}
	assert assignments(db) == (("TT001", "D000001", NOW, None),)
	assert db.sql("select status from `tabTukTuk Substitution` where name = 'SUB-1'") == (("Active",),)
	settings_ = load_settings(db)
	paid = c2b.process_confirmation(
		db, raw(c2b_body("TT001", 400)), settings=settings_, now=datetime(2026, 11, 22, 8)
	)
	assert paid.driver == "D000009"
	parked = c2b.process_confirmation(db, raw(c2b_body("TT002", 400)), settings=settings_, now=NOW)
	assert parked.reason == "vehicle TT002 is in Maintenance"


@pytest.mark.parametrize(
	("document", "message"),
	[
		({"vehicle": "TT001", "regular_driver": "D000001", "substitute": "D000001"}, "another driver"),
		(
			{
				"vehicle": "TT001",
				"regular_driver": "D000001",
				"substitute": "D000009",
				"to_date": "22/11/2026",
			},
			"YYYY-MM-DD",
		),
	],
)
def test_load_refuses_a_substitution_breaking_a_rule(db, document, message):
	documents = [
		{"doctype": "TukTuk Vehicle", "tuktuk_id": "TT001", "mpesa_account": "TT001"},
		{"doctype": "TukTuk Driver", "sunny_id": "D000001", "assigned_tuktuk": "TT001"},
		{"doctype": "TukTuk Driver", "sunny_id": "D000009"},
		{"doctype": "TukTuk Substitution", "from_date": "2026-11-21", "to_date": "2026-11-22", **document},
	]
	with pytest.raises(FixtureError, match=message):
		load_fixtures(db, documents, now=NOW)
	db.rollback()


def test_load_refuses_an_unknown_vehicle_status(db):
	with pytest.raises(FixtureError, match="status must be one of Active, Maintenance, Retired"):
		load_fixtures(
			db,
			[{"doctype": "TukTuk Vehicle", "tuktuk_id": "T", "mpesa_account": "T", "status": "Broken"}],
			now=NOW,
		)
	db.rollback()


def test_a_second_load_adds_a_substitution_to_a_loaded_fleet(db):
	fleet = [
		{"doctype": "TukTuk Vehicle", "tuktuk_id": "TT001", "mpesa_account": "TT001"},
		{"doctype": "TukTuk Driver", "sunny_id": "D000001", "assigned_tuktuk": "TT001"},
		{"doctype": "TukTuk Driver", "sunny_id": "D000009"},
	]
	load_fixtures(db, fleet, now=NOW)
	db.commit()
	substitution = {"doctype": "TukTuk Substitution", "vehicle": "TT001", "regular_driver": "D000001"}
	substitution |= {"substitute": "D000009", "from_date": "2026-11-22", "to_date": "2026-11-22"}
	assert load_fixtures(db, [substitution], now=NOW)["TukTuk Substitution"] == 1
	db.commit()
	with pytest.raises(FixtureError, match="must not overlap"):  # the same again overlaps it
		load_fixtures(db, [substitution], now=NOW)
	db.rollback()
