"""Who the daily close judges (DESIGN §8): the rule, and the one query that applies it to a page
of drivers.

The close judges driver X for business date D (a miss, a rollover, a met target) only if, on D:

1. X is Active (drivers who are not Active are not closed at all: ``close.drivers_due``);
2. X has no **Approved** TukTuk Day Off on D → else ``Day Off``;
3. X is not replaced: no Active TukTuk Substitution with ``regular_driver`` = X and
   ``from_date`` ≤ D ≤ ``to_date`` → else ``Substituted``;
4. X drives on D: either X is the substitute of an Active substitution covering D (judged with
   X's own target settings, whatever X's kind), or X is a Regular driver assigned to a vehicle
   (``assigned_tuktuk``) → else ``Not Substituting`` (a driver of kind Substitute with no
   substitution on D) or ``Unassigned`` (a Regular driver without a vehicle);
5. that vehicle is Active (not in Maintenance or Retired: its payments go to suspense, the
   driver cannot collect) → else ``Vehicle Not Active``. A substitute's vehicle is the
   substitution's; its status is checked by routing, not here.

The assignment and the vehicle status are those at close time (the close of D runs at the end
of D). A driver who is not judged still gets a TukTuk Daily Close (``judged`` = 0 with the
reason): the day's collections move to revenue, misses and rollover are left as they were (the
rollover waits for the next judged day).
"""

from __future__ import annotations

from datetime import date

from tuktuk_management.ledger import doctypes
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.days_off import DayOffStatus

SUBSTITUTION_ACTIVE = "Active"  # TukTuk Substitution status that counts
VEHICLE_ACTIVE = "Active"
SUBSTITUTE_KIND = "Substitute"  # TukTuk Driver driver_kind


class NotJudged:
	"""TukTuk Daily Close ``not_judged_reason``; the words match the DocType JSON options."""

	DAY_OFF = "Day Off"
	SUBSTITUTED = "Substituted"
	UNASSIGNED = "Unassigned"
	NOT_SUBSTITUTING = "Not Substituting"
	VEHICLE_NOT_ACTIVE = "Vehicle Not Active"
	ALL = (DAY_OFF, SUBSTITUTED, UNASSIGNED, NOT_SUBSTITUTING, VEHICLE_NOT_ACTIVE)


def not_judged_reason(
	*,
	driver_kind: str | None,
	assigned_tuktuk: str | None,
	vehicle_status: str | None,
	day_off: bool,
	replaced: bool,
	substituting: bool,
) -> str:
	"""The rule above as a pure function: "" when the driver is judged on the day, else the
	reason (one of :class:`NotJudged`), the first that applies in the order of the rule."""
	if day_off:
		return NotJudged.DAY_OFF
	if replaced:
		return NotJudged.SUBSTITUTED
	if substituting:
		return ""
	if driver_kind == SUBSTITUTE_KIND:
		return NotJudged.NOT_SUBSTITUTING
	if not assigned_tuktuk:
		return NotJudged.UNASSIGNED
	if (vehicle_status or VEHICLE_ACTIVE) != VEHICLE_ACTIVE:
		return NotJudged.VEHICLE_NOT_ACTIVE
	return ""


def judgement_select(business_date_param: str = "%(business_date)s") -> str:
	"""The select list and joins that read, for driver alias ``d``, what :func:`not_judged_reason`
	needs (kind, vehicle, vehicle status, and three EXISTS on the Day Off and Substitution
	tables for the date bound to ``business_date_param``). One query serves a whole page."""
	day = business_date_param
	return f"""d.name, d.driver_kind, d.assigned_tuktuk, v.status as vehicle_status,
		exists(select 1 from `tab{doctypes.DAY_OFF}` o where o.driver = d.name
			and o.day_off_date = {day} and o.status = '{DayOffStatus.APPROVED}') as day_off,
		exists(select 1 from `tab{doctypes.SUBSTITUTION}` s where s.regular_driver = d.name
			and s.status = '{SUBSTITUTION_ACTIVE}' and s.from_date <= {day} and s.to_date >= {day}) as replaced,
		exists(select 1 from `tab{doctypes.SUBSTITUTION}` s where s.substitute = d.name
			and s.status = '{SUBSTITUTION_ACTIVE}' and s.from_date <= {day} and s.to_date >= {day})
			as substituting
		from `tab{doctypes.DRIVER}` d left join `tab{doctypes.VEHICLE}` v on v.name = d.assigned_tuktuk"""


def reason_of_row(row) -> tuple[str, str]:
	"""``(driver, reason)`` from one row of :func:`judgement_select` (a tuple in its order)."""
	name, kind, assigned, vehicle_status, day_off, replaced, substituting = row
	return name, not_judged_reason(
		driver_kind=kind,
		assigned_tuktuk=assigned,
		vehicle_status=vehicle_status,
		day_off=bool(day_off),
		replaced=bool(replaced),
		substituting=bool(substituting),
	)


def reason_for(db: Database, driver: str, business_date: date) -> str:
	"""One driver's reason for D ("" = judged), read with the page query restricted to them."""
	rows = db.sql(
		f"select {judgement_select()} where d.name = %(driver)s",
		{"business_date": business_date, "driver": driver},
	)
	return reason_of_row(rows[0])[1] if rows else ""
