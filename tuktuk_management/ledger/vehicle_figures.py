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
		f"""select date(t.timestamp), t.tuktuk, t.driver,
			(select min(s.name) from `tab{doctypes.SUBSTITUTION}` s where s.vehicle = t.tuktuk
				and s.substitute = t.driver and date(t.creation) between s.from_date and s.to_date),
			{_COLLECTION_SUMS}
		from `tab{doctypes.TRANSACTION}` t
		where t.timestamp >= %s and t.timestamp < %s and t.tuktuk is not null
			{"and t.tuktuk = %s" if tuktuk else ""}
		group by 1, 2, 3, 4 order by 1, 2, 3, 4 limit %s""",
		(start, end, *((tuktuk,) if tuktuk else ()), ROWS_MAX),
	)
	return [
		{
			"business_date": row[0],
			"tuktuk": row[1],
			"driver": row[2],
			"paid_as": SUSPENSE if not row[2] else SUBSTITUTE if row[3] else ASSIGNED,
			"substitution": row[3],
			"payments_count": int(row[4]),
			**{key: to_kes(value) for key, value in zip(_SUM_KEYS, row[5:], strict=True)},
		}
		for row in rows
	]
