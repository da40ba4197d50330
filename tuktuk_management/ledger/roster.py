"""The driver roster: who works on which date, as a manager reads it at a glance.

``roster(db, from_date, days)`` returns one row per driver with one cell per date, using the
daily close's own rule (``ledger/judged.py``) so the roster shows exactly who the close will
judge. Three queries whatever the number of drivers and dates: the drivers (with their vehicle's
status), their days off in the range (Requested and Approved), and the Active substitutions
overlapping the range.

Cells (:class:`Cell`): ``Working`` (judged that day), ``Day Off`` (Approved), ``Requested`` (a
day off waiting for a manager; the driver is still expected), ``Substitute: <name>`` (replaced by
that substitute), ``Driving <vehicle>`` (a substitute, or a driver filling in, on someone's
vehicle), ``Standby`` (a Substitute with no substitution that day), ``Unassigned`` (no vehicle),
``Vehicle <status>`` (the vehicle is in Maintenance or Retired).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from tuktuk_management.ledger import doctypes
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.days_off import DayOffStatus, as_date
from tuktuk_management.ledger.judged import SUBSTITUTION_ACTIVE, NotJudged, not_judged_reason

DAYS_MAX = 31
DRIVERS_MAX = 1_000  # drivers per roster (narrow it with the driver / vehicle filters)


class Cell:
	WORKING = "Working"
	DAY_OFF = "Day Off"
	REQUESTED = "Requested"
	SUBSTITUTED_BY = "Substitute: "  # + the substitute's name
	DRIVING = "Driving "  # + the vehicle
	STANDBY = "Standby"
	UNASSIGNED = "Unassigned"
	VEHICLE = "Vehicle "  # + the vehicle's status


@dataclass
class RosterRow:
	driver: str
	driver_name: str
	driver_kind: str
	vehicle: str
	cells: dict[date, str] = field(default_factory=dict)


def dates_of(from_date: date, days: int) -> list[date]:
	"""``days`` consecutive dates from ``from_date`` (1 ≤ days ≤ DAYS_MAX, else ValueError)."""
	if not 1 <= days <= DAYS_MAX:
		raise ValueError(f"a roster shows 1 to {DAYS_MAX} days")
	return [from_date + timedelta(days=n) for n in range(days)]


def roster(
	db: Database,
	from_date: date,
	days: int,
	*,
	driver: str | None = None,
	vehicle: str | None = None,
	limit: int = DRIVERS_MAX,
) -> list[RosterRow]:
	"""Active drivers (optionally one driver, or the drivers of / substituting on one vehicle),
	sorted by name, at most ``limit``; each with a cell per date (see the module docstring)."""
	dates = dates_of(from_date, days)
	to_date = dates[-1]
	conditions, values = ["d.status = 'Active'"], []
	if driver:
		conditions.append("d.name = %s")
		values.append(driver)
	if vehicle:
		conditions.append(
			f"""(d.assigned_tuktuk = %s or exists(select 1 from `tab{doctypes.SUBSTITUTION}` s
			where s.substitute = d.name and s.vehicle = %s and s.status = %s
			and s.from_date <= %s and s.to_date >= %s))"""
		)
		values += [vehicle, vehicle, SUBSTITUTION_ACTIVE, to_date, from_date]
	drivers = db.sql(
		f"""select d.name, d.driver_name, d.driver_kind, d.assigned_tuktuk, v.status
		from `tab{doctypes.DRIVER}` d left join `tab{doctypes.VEHICLE}` v on v.name = d.assigned_tuktuk
		where {" and ".join(conditions)} order by d.name limit %s""",
		(*values, min(limit, DRIVERS_MAX)),
	)
	if not drivers:
		return []
	names = tuple(row[0] for row in drivers)
	offs = _days_off(db, names, from_date, to_date)
	replaced, driving, substitute_names = _substitutions(db, names, from_date, to_date)
	rows = []
	for name, driver_name, kind, assigned, vehicle_status in drivers:
		row = RosterRow(name, driver_name or "", kind or "Regular", assigned or "")
		for day in dates:
			row.cells[day] = _cell(
				kind=kind,
				assigned=assigned,
				vehicle_status=vehicle_status,
				day_off=offs.get((name, day)),
				replaced_by=replaced.get((name, day)),
				driving=driving.get((name, day)),
				substitute_names=substitute_names,
			)
		rows.append(row)
	return rows


def _cell(*, kind, assigned, vehicle_status, day_off, replaced_by, driving, substitute_names) -> str:
	reason = not_judged_reason(
		driver_kind=kind,
		assigned_tuktuk=assigned,
		vehicle_status=vehicle_status,
		day_off=day_off == DayOffStatus.APPROVED,
		replaced=bool(replaced_by),
		substituting=bool(driving),
	)
	if reason == NotJudged.DAY_OFF:
		return Cell.DAY_OFF
	if reason == NotJudged.SUBSTITUTED:
		return Cell.SUBSTITUTED_BY + (substitute_names.get(replaced_by) or replaced_by)
	if day_off == DayOffStatus.REQUESTED:
		return Cell.REQUESTED
	if driving and driving != assigned:
		return Cell.DRIVING + driving
	return {
		"": Cell.WORKING,
		NotJudged.NOT_SUBSTITUTING: Cell.STANDBY,
		NotJudged.UNASSIGNED: Cell.UNASSIGNED,
		NotJudged.VEHICLE_NOT_ACTIVE: Cell.VEHICLE + (vehicle_status or ""),
	}[reason]


def _days_off(db: Database, names: tuple, from_date: date, to_date: date) -> dict[tuple[str, date], str]:
	"""(driver, date) -> Approved / Requested (Approved wins)."""
	rows = db.sql(
		f"""select driver, day_off_date, status from `tab{doctypes.DAY_OFF}`
		where driver in %s and day_off_date between %s and %s and status in %s""",
		(names, from_date, to_date, DayOffStatus.OPEN),
	)
	found: dict[tuple[str, date], str] = {}
	for driver, day, status in rows:
		key = (driver, as_date(day))
		if found.get(key) != DayOffStatus.APPROVED:
			found[key] = status
	return found


def _substitutions(db: Database, names: tuple, from_date: date, to_date: date):
	"""(regular, date) -> substitute; (substitute, date) -> vehicle; substitute -> name."""
	rows = db.sql(
		f"""select s.regular_driver, s.substitute, s.vehicle, s.from_date, s.to_date, d.driver_name
		from `tab{doctypes.SUBSTITUTION}` s left join `tab{doctypes.DRIVER}` d on d.name = s.substitute
		where (s.regular_driver in %s or s.substitute in %s) and s.status = %s
			and s.from_date <= %s and s.to_date >= %s""",
		(names, names, SUBSTITUTION_ACTIVE, to_date, from_date),
	)
	replaced: dict[tuple[str, date], str] = {}
	driving: dict[tuple[str, date], str] = {}
	substitute_names: dict[str, str] = {}
	for regular, substitute, vehicle, start, end, substitute_name in rows:
		substitute_names[substitute] = substitute_name or substitute
		day = max(as_date(start), from_date)
		while day <= min(as_date(end), to_date):
			replaced[(regular, day)] = substitute
			driving[(substitute, day)] = vehicle
			day += timedelta(days=1)
	return replaced, driving, substitute_names
