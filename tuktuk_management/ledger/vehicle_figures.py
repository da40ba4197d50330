"""Collections read per vehicle: who was paid for each vehicle on each day, and as what.

The figures behind the Vehicle Collections report. A payment to a vehicle's account goes to the
vehicle's assigned driver or, during a substitution, to the substitute (ledger/c2b_routing.py);
each row here says which, so a vehicle's takings can be read across changes of driver.
"""

from __future__ import annotations

from datetime import date

from tuktuk_management.ledger import doctypes
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.figures import _COLLECTION_SUMS, ROWS_MAX, _day_range

# The substitution (Active or since Cancelled) that named the payment's driver as the vehicle's
# substitute on the payment's posting date (``creation``), as routing decided it.
_SUBSTITUTION_OF = f"""(select min(s.name) from `tab{doctypes.SUBSTITUTION}` s where s.vehicle = t.tuktuk
	and s.substitute = t.driver and date(t.creation) between s.from_date and s.to_date)"""
from tuktuk_management.ledger.money import to_kes

ASSIGNED = "Assigned driver"
SUBSTITUTE = "Substitute"
SUSPENSE = "Suspense"

_SUM_KEYS = (
	"amount_kes",
	"target_contribution_kes",
	"driver_share_kes",
	"deposit_contribution_kes",
	"unallocated_kes",
)


def vehicle_collections(
	db: Database, from_date: date, to_date: date, *, tuktuk: str | None = None
) -> list[dict]:
	"""Rows ``{business_date, tuktuk, driver, paid_as, substitution, payments_count, amount_kes,
	target_contribution_kes, driver_share_kes, deposit_contribution_kes, unallocated_kes}`` (whole
	KES) per day, vehicle and paid driver, for payments to a vehicle's account.

	Days are the payment's M-Pesa time (``timestamp``), as in Daily Collections. ``paid_as`` is
	"Substitute" when a substitution (Active or since Cancelled) of the vehicle named the driver as
	substitute on the payment's posting date (``creation``), with its name in ``substitution``;
	"Suspense" for money not paid to a driver; else "Assigned driver". Ordered by day, vehicle,
	driver; at most ``ROWS_MAX`` rows. Raises ValueError for a bad period.
	"""
	start, end = _day_range(from_date, to_date)
	rows = db.sql(
		f"""select date(t.timestamp), t.tuktuk, t.driver, {_SUBSTITUTION_OF}, {_COLLECTION_SUMS}
		from `tab{doctypes.TRANSACTION}` t
		where t.timestamp >= %s and t.timestamp < %s and t.tuktuk is not null
			{"and t.tuktuk = %s" if tuktuk else ""}
		group by 1, 2, 3, 4 order by 1, 2, 3, 4 limit %s""",
		(start, end, *((tuktuk,) if tuktuk else ()), ROWS_MAX),
	)
	return [_row(row) for row in rows]


def vehicle_payments(db: Database, tuktuk: str, from_date: date, to_date: date) -> list[dict]:
	"""A vehicle's statement: one row per payment to ``tuktuk``'s account, the same keys as
	:func:`vehicle_collections` plus ``transaction`` (the TransID) and ``paid_at`` (M-Pesa's time),
	``payments_count`` 1. Ordered by time; at most ``ROWS_MAX`` rows. Raises ValueError for a bad
	period."""
	start, end = _day_range(from_date, to_date)
	rows = db.sql(
		f"""select date(t.timestamp), t.tuktuk, t.driver, {_SUBSTITUTION_OF}, 1, t.amount,
			t.target_contribution, t.driver_share, t.deposit_contribution,
			case when t.payment_status = 'Unallocated' then t.amount else 0 end, t.name, t.timestamp
		from `tab{doctypes.TRANSACTION}` t
		where t.tuktuk = %s and t.timestamp >= %s and t.timestamp < %s
		order by t.timestamp, t.name limit %s""",
		(tuktuk, start, end, ROWS_MAX),
	)
	return [{**_row(row[:10]), "transaction": row[10], "paid_at": row[11]} for row in rows]


def _row(row) -> dict:
	return {
		"business_date": row[0],
		"tuktuk": row[1],
		"driver": row[2],
		"paid_as": SUSPENSE if not row[2] else SUBSTITUTE if row[3] else ASSIGNED,
		"substitution": row[3],
		"payments_count": int(row[4]),
		**{key: to_kes(value) for key, value in zip(_SUM_KEYS, row[5:10], strict=True)},
	}
