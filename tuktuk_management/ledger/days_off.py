"""TukTuk Day Off: the statuses, the one-open-request-per-driver-and-date key, and the checks
shared by the Frappe layer (``api/days_off.py``, the controller) and the standalone loader.

A day off is requested (by the driver for themselves, or by a manager for any driver), then
Approved or Rejected by a manager; a driver may cancel their own request while it is Requested.
Only an **Approved** day off changes the daily close (``ledger/judged.py``). At most one open
(Requested or Approved) row per driver and date: ``open_request_key`` is ``<driver>:<date>`` for
an open row and NULL otherwise, and the column is unique (MariaDB allows many NULLs), so two
concurrent requests for the same day cannot both be stored.
"""

from __future__ import annotations

from datetime import date, datetime

from tuktuk_management.ledger import doctypes
from tuktuk_management.ledger.database import Database

DAY_OFF_DOCTYPE = doctypes.DAY_OFF
REASON_LEN_MAX = 500  # characters kept of a reason (request or rejection)


class DayOffStatus:
	"""TukTuk Day Off ``status``; the words match the DocType JSON options."""

	REQUESTED = "Requested"
	APPROVED = "Approved"
	REJECTED = "Rejected"
	CANCELLED = "Cancelled"  # withdrawn by the driver while Requested
	ALL = (REQUESTED, APPROVED, REJECTED, CANCELLED)
	OPEN = (REQUESTED, APPROVED)  # hold the driver's date: a second request is refused


class DayOffError(ValueError):
	"""A day off request or decision that the rules refuse; the message is for a fleet manager."""


def as_date(value: date | datetime | str) -> date:
	"""A ``date`` from a date, a datetime or an ISO ``YYYY-MM-DD`` string (raises ValueError)."""
	if isinstance(value, datetime):
		return value.date()
	if isinstance(value, date):
		return value
	return date.fromisoformat(str(value).strip()[:10])


def open_request_key(driver: str, day_off_date: date | str, status: str) -> str | None:
	"""``<driver>:<YYYY-MM-DD>`` while the row is open (Requested/Approved), else None."""
	if status not in DayOffStatus.OPEN:
		return None
	return f"{driver}:{as_date(day_off_date).isoformat()}"


def check_not_closed(db: Database, driver: str, day_off_date: date) -> None:
	"""Raise :class:`DayOffError` if the driver's daily close already covered ``day_off_date``
	(``last_close_date`` ≥ it): a day off for a closed date would change nothing."""
	rows = db.sql("select last_close_date from `tabTukTuk Driver` where name = %s", (driver,))
	if not rows:
		raise DayOffError(f"Driver {driver} does not exist")
	last_close_date = rows[0][0]
	if last_close_date and as_date(last_close_date) >= day_off_date:
		raise DayOffError(
			f"The daily close of {day_off_date.isoformat()} is already done for this driver; "
			"a day off can only be given for a date that is not closed yet"
		)


def check_request(db: Database, driver: str, day_off_date: date, *, today: date, name: str = "") -> None:
	"""The checks of a new request (any requester): not a past date, not already closed, and no
	other open request of the driver for that date (``name`` = the row itself, when updating).
	Raises :class:`DayOffError`."""
	if day_off_date < today:
		raise DayOffError(f"{day_off_date.isoformat()} is in the past: a day off is requested in advance")
	check_not_closed(db, driver, day_off_date)
	other = db.sql(
		f"""select name, status from `tab{DAY_OFF_DOCTYPE}` where driver = %s and day_off_date = %s
		and status in %s and name != %s limit 1""",
		(driver, day_off_date, DayOffStatus.OPEN, name),
	)
	if other:
		raise DayOffError(
			f"There is already a day off {other[0][1].lower()} for {day_off_date.isoformat()} ({other[0][0]})"
		)


def fixture_values(values: dict) -> dict:
	"""The columns of a TukTuk Day Off fixture for the standalone loader: status defaults to
	Approved (a replayed roster is already decided), ``open_request_key`` is derived. Raises
	:class:`DayOffError` for a missing driver or date or an unknown status."""
	driver = (values.get("driver") or "").strip()
	if not driver or not values.get("day_off_date"):
		raise DayOffError("a day off needs a driver and a day_off_date")
	status = values.get("status") or DayOffStatus.APPROVED
	if status not in DayOffStatus.ALL:
		raise DayOffError(f"status must be one of {', '.join(DayOffStatus.ALL)}, not {status!r}")
	day = as_date(values["day_off_date"])
	return {
		**values,
		"driver": driver,
		"day_off_date": day,
		"status": status,
		"open_request_key": open_request_key(driver, day, status),
	}
