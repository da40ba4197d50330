"""Substitutions and vehicle assignments: who drives which vehicle when (DESIGN §8).

A TukTuk Substitution puts a substitute driver on a vehicle for a date range (from/to inclusive);
payments to the vehicle's account on those dates route to the substitute
(:mod:`tuktuk_management.ledger.c2b_routing`). :func:`check_substitution` is the rule a
substitution must meet to be saved, shared by the DocType controller and the standalone loader.
A TukTuk Vehicle Assignment row records each period a driver was assigned to a vehicle
(:func:`record_assignment`), written whenever a driver's ``assigned_tuktuk`` changes.

Lock order, as for a payment to a vehicle (:func:`~tuktuk_management.ledger.c2b_routing.lock_route`):
the vehicle row, then driver rows, then substitution rows. Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tuktuk_management.ledger import doctypes
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.rows import insert_statement, new_name, standard_values
from tuktuk_management.ledger.status import SubstitutionStatus

ACTIVE = SubstitutionStatus.ACTIVE
CANCELLED = SubstitutionStatus.CANCELLED
# Fields that decide where payments went: fixed once the substitution has started.
ROUTING_FIELDS = ("vehicle", "regular_driver", "substitute", "from_date")


class SubstitutionRefused(ValueError):
	"""A substitution that breaks a rule; the message is for a fleet manager."""


@dataclass(frozen=True)
class Substitution:
	"""A TukTuk Substitution as saved: ``name`` is None for a new one; dates inclusive."""

	name: str | None
	vehicle: str
	regular_driver: str
	substitute: str
	from_date: date
	to_date: date
	status: str = ACTIVE


def check_substitution(
	db: Database, sub: Substitution, *, today: date, before: Substitution | None = None
) -> None:
	"""Refuse a substitution that breaks a rule; raise :class:`SubstitutionRefused`.

	Rules: ``from_date <= to_date``; the substitute is not the regular driver; the vehicle and
	both drivers exist; for an Active substitution: the vehicle is not Retired, the regular
	driver is assigned to the vehicle, the substitute is an Active driver not assigned to
	another vehicle, no other Active substitution of the vehicle overlaps the range, and the
	substitute is not substituting on another vehicle in an overlapping range. ``before`` is the
	saved version being edited: once started (``from_date <= today``) its vehicle, drivers and
	start cannot change (payments were routed by them); cancel it and create another instead.

	Locks (``FOR UPDATE``) the vehicle row, then the substitute's driver row, so two saves that
	could overlap wait for each other and the overlap reads see the latest committed rows.
	"""
	if sub.status not in SubstitutionStatus.ALL:
		raise SubstitutionRefused(f"Status must be one of {', '.join(SubstitutionStatus.ALL)}.")
	if sub.from_date > sub.to_date:
		raise SubstitutionRefused("The From date must be on or before the To date.")
	if sub.substitute == sub.regular_driver:
		raise SubstitutionRefused("The substitute must be another driver than the regular driver.")
	_check_started_unchanged(sub, before, today)
	vehicles = db.sql(
		f"select status from `tab{doctypes.VEHICLE}` where name = %s for update", (sub.vehicle,)
	)
	if not vehicles:
		raise SubstitutionRefused(f"Vehicle {sub.vehicle} does not exist.")
	drivers = {
		name: (status, assigned)
		for name, status, assigned in db.sql(
			f"""select name, status, assigned_tuktuk from `tab{doctypes.DRIVER}`
			where name in (%s, %s) order by name for update""",
			(sub.regular_driver, sub.substitute),
		)
	}
	for role, driver in (("Regular driver", sub.regular_driver), ("Substitute", sub.substitute)):
		if driver not in drivers:
			raise SubstitutionRefused(f"{role} {driver} does not exist.")
	if sub.status != ACTIVE:
		return
	if vehicles[0][0] == "Retired":
		raise SubstitutionRefused(f"Vehicle {sub.vehicle} is Retired; it takes no substitute.")
	_check_drivers(sub, drivers)
	_check_no_overlap(db, sub)


def _check_started_unchanged(sub: Substitution, before: Substitution | None, today: date) -> None:
	if before is None or before.from_date > today:
		return
	changed = [field for field in ROUTING_FIELDS if getattr(sub, field) != getattr(before, field)]
	if changed:
		raise SubstitutionRefused(
			f"This substitution started on {before.from_date.isoformat()}; its "
			f"{', '.join(field.replace('_', ' ') for field in changed)} can no longer change "
			"(payments were routed by them). Cancel it and create a new one."
		)


def _check_drivers(sub: Substitution, drivers: dict[str, tuple]) -> None:
	_regular_status, regular_vehicle = drivers[sub.regular_driver]
	if regular_vehicle != sub.vehicle:
		raise SubstitutionRefused(
			f"Regular driver {sub.regular_driver} is not assigned to vehicle {sub.vehicle}; "
			"a substitution replaces the vehicle's assigned driver."
		)
	substitute_status, substitute_vehicle = drivers[sub.substitute]
	if substitute_status != "Active":
		raise SubstitutionRefused(
			f"Substitute {sub.substitute} is {substitute_status or 'not active'}; only an Active "
			"driver can substitute."
		)
	if substitute_vehicle and substitute_vehicle != sub.vehicle:
		raise SubstitutionRefused(
			f"Substitute {sub.substitute} is assigned to vehicle {substitute_vehicle}; "
			"a substitute must not drive another vehicle at the same time."
		)


_OVERLAPS = f"""select name, vehicle, substitute, from_date, to_date from `tab{doctypes.SUBSTITUTION}`
	where {{column}} = %s and status = '{ACTIVE}' and name != %s and from_date <= %s and to_date >= %s
	order by from_date limit 1 for update"""


def _check_no_overlap(db: Database, sub: Substitution) -> None:
	"""Refuse an overlap with another Active substitution of the vehicle or of the substitute.

	Two reads, each on its own index (vehicle, substitute), so the locks stay on those rows.
	"""
	values = (sub.name or "", sub.to_date, sub.from_date)
	for column, key in (("vehicle", sub.vehicle), ("substitute", sub.substitute)):
		rows = db.sql(_OVERLAPS.format(column=column), (key, *values))
		if rows:
			other, vehicle, substitute, from_date, to_date = rows[0]
			what = f"vehicle {vehicle}" if column == "vehicle" else f"{substitute} (on vehicle {vehicle})"
			raise SubstitutionRefused(
				f"Substitution {other} already covers {what} from {_iso(from_date)} to {_iso(to_date)}; "
				"substitutions of the same vehicle or the same substitute must not overlap. "
				"Change the dates or cancel the other substitution."
			)


def _iso(value) -> str:
	return value.isoformat() if hasattr(value, "isoformat") else str(value)


_ASSIGNMENT_COLUMNS = ("vehicle", "driver", "from_datetime", "to_datetime")
_INSERT_ASSIGNMENT = insert_statement(doctypes.VEHICLE_ASSIGNMENT, _ASSIGNMENT_COLUMNS)


def record_assignment(
	db: Database, driver: str, vehicle: str | None, *, now: datetime, user: str = "Administrator"
) -> bool:
	"""Record that ``driver`` is assigned to ``vehicle`` (None: to no vehicle) from ``now`` on.

	Closes the driver's open TukTuk Vehicle Assignment (``to_datetime = now``) if it is for
	another vehicle and opens one for ``vehicle``; does nothing if the open one is already for
	``vehicle`` (idempotent, so a save that did not move the driver writes nothing). Returns True
	if it wrote. now: naive, site time zone.
	"""
	open_rows = db.sql(
		f"""select name, vehicle from `tab{doctypes.VEHICLE_ASSIGNMENT}`
		where driver = %s and to_datetime is null for update""",
		(driver,),
	)
	if [row[1] for row in open_rows] == ([vehicle] if vehicle else []):
		return False
	if open_rows:
		db.sql(
			f"""update `tab{doctypes.VEHICLE_ASSIGNMENT}` set to_datetime = %s, modified = %s,
			modified_by = %s where driver = %s and to_datetime is null""",
			(now, now, user, driver),
		)
	if vehicle:
		db.sql(_INSERT_ASSIGNMENT, (*standard_values(new_name(), now, user), vehicle, driver, now, None))
	return True


def end_for_leaving_driver(
	db: Database, driver: str, today: date, *, now: datetime, user: str = "Administrator"
) -> list[str]:
	"""End the Active substitutions that name a leaving ``driver`` (as regular driver or substitute).

	One not started yet (``from_date`` after ``today``) is Cancelled; one running ends ``today``
	(``to_date = today``), so the payments already routed by it keep their history. Called under the
	driver's row lock by the termination (``ledger.termination``). Returns the names touched.
	"""
	rows = db.sql(
		f"""select name, from_date from `tab{doctypes.SUBSTITUTION}`
		where status = %s and to_date >= %s and (regular_driver = %s or substitute = %s) for update""",
		(ACTIVE, today, driver, driver),
	)
	for name, from_date in rows:
		if _as_date(from_date) > today:
			db.sql(
				f"""update `tab{doctypes.SUBSTITUTION}` set status = %s, modified = %s, modified_by = %s
				where name = %s""",
				(CANCELLED, now, user, name),
			)
		else:
			db.sql(
				f"""update `tab{doctypes.SUBSTITUTION}` set to_date = %s, modified = %s, modified_by = %s
				where name = %s""",
				(today, now, user, name),
			)
	return [row[0] for row in rows]


def _as_date(value) -> date:
	return (
		value
		if isinstance(value, date) and not isinstance(value, datetime)
		else date.fromisoformat(str(value)[:10])
	)


def driver_of_vehicle_on(db: Database, vehicle: str, on_date: date) -> str | None:
	"""The substitute of the Active substitution of ``vehicle`` covering ``on_date``, else None."""
	rows = db.sql(
		f"""select substitute from `tab{doctypes.SUBSTITUTION}` where vehicle = %s and status = %s
		and %s between from_date and to_date order by name limit 2""",
		(vehicle, ACTIVE, on_date),
	)
	return rows[0][0] if len(rows) == 1 else None
