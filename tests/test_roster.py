"""The driver roster (ledger/roster.py): one cell per driver and date by the close's own rule,
read in three queries whatever the size of the fleet."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import make_driver, make_vehicle
from tests.test_close_judged import CountingDatabase, day_off, substitution
from tuktuk_management.ledger import roster
from tuktuk_management.ledger.days_off import DayOffStatus

DAY1 = date(2026, 12, 1)


def days(n: int) -> date:
	return DAY1 + timedelta(days=n)


def test_cells_follow_the_close_rule(db):
	for n in (1, 2, 3):
		make_driver(db, f"D00000{n}", make_vehicle(db, f"TT00{n}"))
	make_driver(db, "D000004", None)
	make_driver(db, "D000005", make_vehicle(db, "TT005", status="Maintenance"))
	make_driver(db, "D000009", None)
	make_driver(db, "D000008", make_vehicle(db, "TT008"), status="Inactive")
	db.sql(
		"update `tabTukTuk Driver` set driver_kind = 'Substitute', driver_name = 'Sam' where name = 'D000009'"
	)
	db.commit()
	day_off(db, "D000001", days(0))
	day_off(db, "D000001", days(1), status=DayOffStatus.REQUESTED)
	day_off(db, "D000001", days(2), status=DayOffStatus.REJECTED)
	substitution(db, "TT002", "D000002", "D000009", days(1), days(2))
	rows = {row.driver: row for row in roster.roster(db, DAY1, 7)}
	assert sorted(rows) == ["D000001", "D000002", "D000003", "D000004", "D000005", "D000009"]  # Active only
	assert [rows["D000001"].cells[days(n)] for n in range(3)] == ["Day Off", "Requested", "Working"]
	assert [rows["D000002"].cells[days(n)] for n in range(4)] == [
		"Working",
		"Substitute: Sam",
		"Substitute: Sam",
		"Working",
	]
	assert [rows["D000009"].cells[days(n)] for n in range(4)] == [
		"Standby",
		"Driving TT002",
		"Driving TT002",
		"Standby",
	]
	assert set(rows["D000003"].cells.values()) == {"Working"}
	assert set(rows["D000004"].cells.values()) == {"Unassigned"}
	assert set(rows["D000005"].cells.values()) == {"Vehicle Maintenance"}
	assert len(rows["D000003"].cells) == 7
	# filters: one driver; one vehicle (its driver and whoever substitutes on it in the range)
	assert [r.driver for r in roster.roster(db, DAY1, 7, driver="D000003")] == ["D000003"]
	assert [r.driver for r in roster.roster(db, DAY1, 7, vehicle="TT002")] == ["D000002", "D000009"]
	assert [r.driver for r in roster.roster(db, days(5), 7, vehicle="TT002")] == ["D000002"]


def test_three_queries_whatever_the_fleet_and_bounded_days(db):
	for n in range(1, 40):
		make_driver(db, f"D{n:06d}", make_vehicle(db, f"TT{n:03d}"))
	db.commit()
	for n in range(1, 40, 3):
		day_off(db, f"D{n:06d}", days(n % 14))
	counting = CountingDatabase(db)
	calls = []
	original = counting.sql

	def sql(query, values=None, as_dict=False):
		calls.append(query)
		return original(query, values, as_dict)

	counting.sql = sql
	rows = roster.roster(counting, DAY1, 14)
	assert len(rows) == 39 and len(calls) == 3
	assert sum(cell == "Day Off" for row in rows for cell in row.cells.values()) == 13
	with pytest.raises(ValueError):
		roster.dates_of(DAY1, roster.DAYS_MAX + 1)
