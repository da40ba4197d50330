"""Where a C2B payment goes and how it is split: the route of a ``BillRefNumber`` and the split
of a routed payment, shared by confirmations (:mod:`tuktuk_management.ledger.c2b`) and the
allocation of unallocated payments (:mod:`tuktuk_management.ledger.allocation`).

A Sunny ID (``D`` + six digits) of an Active driver is a repayment; a vehicle's
``mpesa_account`` is a payment to the one Active driver assigned to it; anything else goes to
suspense with the reason. The look-up reads the redelivery check, the route and the routed
driver's row in one round trip, without locks.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import DRIVER_LOCK_COLUMNS, SUNNY_ID_PATTERN, DriverRow, driver_row
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.split import Split, effective_fare_percentage, split_payment, split_repayment
from tuktuk_management.ledger.status import TransactionType
from tuktuk_management.ledger.writer import PostingLine

PAYMENT = TransactionType.PAYMENT
REPAYMENT = TransactionType.REPAYMENT
SUSPENSE_ROUTE = TransactionType.UNALLOCATED  # money posted to suspense


@dataclass(frozen=True)
class Route:
	"""Where a payment goes: ``kind`` is Payment, Repayment or Unallocated (with ``reason``)."""

	kind: str
	driver: str | None = None
	tuktuk: str | None = None
	reason: str = ""


def resolve_route(db: Database, account_reference: str) -> Route:
	"""Route a ``BillRefNumber`` (already trimmed and upper-cased) without taking locks.

	A Sunny ID (``D`` + six digits) of an Active driver is a repayment; a vehicle's
	``mpesa_account`` is a payment to the one Active driver assigned to it; anything else is
	unallocated (suspense) with the reason.
	"""
	return look_up(db, account_reference).route


_DRIVER_SELECT = ", ".join(f"d.`{column}`" for column in DRIVER_LOCK_COLUMNS)
# One UNION ALL, every part as wide as the vehicle part: a tag, the vehicle, the driver's columns.
_EXISTING_PART = (
	"select 'existing', t.name, t.amount, t.bill_ref_number, t.driver"
	+ ", null" * (len(DRIVER_LOCK_COLUMNS) - 3)
	+ " from `tabTukTuk Transaction` t where t.name = %s"
)
_SUNNY_ID_PART = f"select 'driver', null, {_DRIVER_SELECT} from `tabTukTuk Driver` d where d.sunny_id = %s"
_VEHICLE_PART = f"""select 'vehicle', v.name, {_DRIVER_SELECT} from `tabTukTuk Vehicle` v
	left join `tabTukTuk Driver` d on d.assigned_tuktuk = v.name and d.status = 'Active'
	where v.mpesa_account = %s"""


@dataclass(frozen=True)
class LookUp:
	"""What one query found for a payment: an earlier transaction with its TransID (name, amount,
	bill_ref_number, driver), the route, and the routed driver's row as read (no lock)."""

	existing: tuple | None
	route: Route
	driver_row: DriverRow | None


def look_up(db: Database, account_reference: str, trans_id: str | None = None) -> LookUp:
	"""The redelivery check, the route and the routed driver's row in one round trip (no locks).

	The driver's row lets the core plan the split before it takes the driver's lock (see
	:func:`tuktuk_management.ledger.c2b.apply_confirmation`); it is None when the route has no
	driver to pay.
	"""
	parts, values = [], []
	if trans_id:
		parts.append(_EXISTING_PART)
		values.append(trans_id)
	if account_reference and SUNNY_ID_PATTERN.match(account_reference):
		parts.append(_SUNNY_ID_PART)
		values.append(account_reference)
	if account_reference:
		parts.append(_VEHICLE_PART)
		values.append(account_reference)
	rows = db.sql(" union all ".join(parts), tuple(values)) if parts else ()
	existing = next((tuple(row[1:5]) for row in rows if row[0] == "existing"), None)
	route, row = _route(account_reference, rows)
	return LookUp(existing, route, row)


def _route(account_reference: str, rows) -> tuple[Route, DriverRow | None]:
	if not account_reference:
		return Route(SUSPENSE_ROUTE, reason="no account number (BillRefNumber) given"), None
	sunny_rows = [row[2:] for row in rows if row[0] == "driver"]
	if sunny_rows:
		driver = driver_row(sunny_rows[0])
		if driver.status != "Active":
			reason = f"driver {driver.name} is {driver.status or 'not active'}"
			return Route(SUSPENSE_ROUTE, driver=driver.name, reason=reason), None
		return Route(REPAYMENT, driver=driver.name), driver
	vehicle_rows = [row[1:] for row in rows if row[0] == "vehicle"]
	if not vehicle_rows:
		return Route(SUSPENSE_ROUTE, reason="unknown account number"), None
	tuktuk = vehicle_rows[0][0]
	drivers = {row[1]: row[1:] for row in vehicle_rows if row[1]}
	if not drivers:
		return Route(SUSPENSE_ROUTE, tuktuk=tuktuk, reason=f"vehicle {tuktuk} has no active driver"), None
	if len(drivers) > 1:
		return Route(
			SUSPENSE_ROUTE, tuktuk=tuktuk, reason=f"vehicle {tuktuk} has several active drivers"
		), None
	((name, driver_values),) = drivers.items()
	return Route(PAYMENT, driver=name, tuktuk=tuktuk), driver_row(driver_values)


def split_for(kind: str, row: DriverRow, amount_kes: int, target_kes: int, settings: LedgerSettings) -> Split:
	"""The split of ``amount_kes`` for a locked driver ``row``: a Payment or a Repayment (DESIGN §3).

	target_kes: the driver's effective target T. Shared by confirmations and by the allocation of
	unallocated payments (:mod:`tuktuk_management.ledger.allocation`), so both split alike.
	"""
	if kind == PAYMENT:
		fare_percentage = effective_fare_percentage(row.fare_percentage, settings.global_fare_percentage)
		return split_payment(amount_kes, target_kes, fare_percentage, row.current_balance_kes)
	assert kind == REPAYMENT, kind
	return split_repayment(amount_kes, target_kes, row.current_balance_kes)


def split_credit_lines(split: Split, driver: str) -> list[PostingLine]:
	"""The credit side of a split payment: target, payable and deposit lines (zero parts skipped)."""
	lines = []
	if split.target_contribution_kes:
		lines.append(PostingLine(accounts.TARGET, credit_kes=split.target_contribution_kes, party=driver))
	if split.driver_share_kes:
		lines.append(PostingLine(accounts.PAYABLE, credit_kes=split.driver_share_kes, party=driver))
	if split.deposit_contribution_kes:
		lines.append(PostingLine(accounts.DEPOSIT, credit_kes=split.deposit_contribution_kes, party=driver))
	return lines
