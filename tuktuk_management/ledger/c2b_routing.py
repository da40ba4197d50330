"""Where a C2B payment goes and how it is split: the route of a ``BillRefNumber`` and the split
of a routed payment, shared by confirmations (:mod:`tuktuk_management.ledger.c2b`) and the
allocation of unallocated payments (:mod:`tuktuk_management.ledger.allocation`).

A Sunny ID (``D`` + six digits) of an Active driver is a repayment; a vehicle's
``mpesa_account`` is a payment to whoever drives the vehicle on the posting date (DESIGN §8): the
substitute of an Active TukTuk Substitution covering that date, else the one Active driver
assigned to it; a vehicle in Maintenance or Retired, or anything else unroutable, goes to
suspense with the reason. The look-up reads the redelivery check, the route and the routed
driver's row in one round trip, without locks; :func:`lock_route` re-checks the route in the
statement that locks the driver row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import (
	DRIVER_LOCK_COLUMNS,
	SUNNY_ID_PATTERN,
	DriverRow,
	LockedDrivers,
	driver_row,
	lock_drivers,
)
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.split import Split, effective_fare_percentage, split_payment, split_repayment
from tuktuk_management.ledger.status import SubstitutionStatus, TransactionType, VehicleStatus
from tuktuk_management.ledger.writer import PostingLine

PAYMENT = TransactionType.PAYMENT
REPAYMENT = TransactionType.REPAYMENT
SUSPENSE_ROUTE = TransactionType.UNALLOCATED  # money posted to suspense


@dataclass(frozen=True)
class Route:
	"""Where a payment goes: ``kind`` is Payment, Repayment or Unallocated (with ``reason``).

	``substitution`` names the Active TukTuk Substitution that made ``driver`` (the substitute) the
	payee of a vehicle payment; None when the vehicle's assigned driver is paid.
	"""

	kind: str
	driver: str | None = None
	tuktuk: str | None = None
	reason: str = ""
	substitution: str | None = None


def resolve_route(db: Database, account_reference: str, on_date: date | None = None) -> Route:
	"""Route a ``BillRefNumber`` (already trimmed and upper-cased) without taking locks.

	A Sunny ID (``D`` + six digits) of an Active driver is a repayment; a vehicle's
	``mpesa_account`` is a payment to whoever drives it on ``on_date`` (see :func:`look_up`);
	anything else is unallocated (suspense) with the reason.
	"""
	return look_up(db, account_reference, on_date=on_date).route


_DRIVER_SELECT = ", ".join(f"d.`{column}`" for column in DRIVER_LOCK_COLUMNS)
# One UNION ALL, every part as wide as the vehicle part: a tag, the vehicle, the vehicle's status
# (or the substitution's name), the driver's columns.
_EXISTING_PART = (
	"select 'existing', t.name, t.amount, t.bill_ref_number, t.driver"
	+ ", null" * (len(DRIVER_LOCK_COLUMNS) - 2)
	+ " from `tabTukTuk Transaction` t where t.name = %s"
)
_SUNNY_ID_PART = (
	f"select 'driver', null, null, {_DRIVER_SELECT} from `tabTukTuk Driver` d where d.sunny_id = %s"
)
_VEHICLE_PART = f"""select 'vehicle', v.name, v.status, {_DRIVER_SELECT} from `tabTukTuk Vehicle` v
	left join `tabTukTuk Driver` d on d.assigned_tuktuk = v.name and d.status = 'Active'
	where v.mpesa_account = %s"""
# The Active substitution covering the date (from/to inclusive) and its substitute's row.
_SUBSTITUTE_PART = f"""select 'substitute', v.name, s.name, {_DRIVER_SELECT} from `tabTukTuk Vehicle` v
	join `tabTukTuk Substitution` s on s.vehicle = v.name and s.status = '{SubstitutionStatus.ACTIVE}'
		and %s between s.from_date and s.to_date
	left join `tabTukTuk Driver` d on d.name = s.substitute
	where v.mpesa_account = %s"""


@dataclass(frozen=True)
class LookUp:
	"""What one query found for a payment: an earlier transaction with its TransID (name, amount,
	bill_ref_number, driver), the route, and the routed driver's row as read (no lock)."""

	existing: tuple | None
	route: Route
	driver_row: DriverRow | None


def look_up(
	db: Database, account_reference: str, trans_id: str | None = None, *, on_date: date | None = None
) -> LookUp:
	"""The redelivery check, the route and the routed driver's row in one round trip (no locks).

	on_date: the payment's posting date (site time zone, the date of the ``now`` it is posted
	with): a vehicle payment goes to the substitute of an Active TukTuk Substitution covering it,
	else to the vehicle's assigned Active driver. Without it substitutions are not consulted (the
	re-check under the lock, :func:`lock_route`, then sends a payment during a substitution to
	suspense rather than to the wrong driver). The driver's row lets the core plan the split
	before it takes the driver's lock (see :func:`tuktuk_management.ledger.c2b.apply_confirmation`);
	it is None when the route has no driver to pay.
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
		if on_date is not None:
			parts.append(_SUBSTITUTE_PART)
			values += [on_date, account_reference]
	rows = db.sql(" union all ".join(parts), tuple(values)) if parts else ()
	existing = next((tuple(row[1:5]) for row in rows if row[0] == "existing"), None)
	route, row = _route(account_reference, rows)
	return LookUp(existing, route, row)


def _route(account_reference: str, rows) -> tuple[Route, DriverRow | None]:
	if not account_reference:
		return Route(SUSPENSE_ROUTE, reason="no account number (BillRefNumber) given"), None
	sunny_rows = [row[3:] for row in rows if row[0] == "driver"]
	if sunny_rows:
		driver = driver_row(sunny_rows[0])
		if driver.status != "Active":
			reason = f"driver {driver.name} is {driver.status or 'not active'}"
			return Route(SUSPENSE_ROUTE, driver=driver.name, reason=reason), None
		return Route(REPAYMENT, driver=driver.name), driver
	vehicle_rows = [row[1:] for row in rows if row[0] == "vehicle"]
	if not vehicle_rows:
		return Route(SUSPENSE_ROUTE, reason="unknown account number"), None
	tuktuk, vehicle_status = vehicle_rows[0][0], vehicle_rows[0][1]
	if vehicle_status and vehicle_status != VehicleStatus.ACTIVE:
		return Route(
			SUSPENSE_ROUTE, tuktuk=tuktuk, reason=vehicle_unavailable_reason(tuktuk, vehicle_status)
		), None
	substitutions = {row[2]: row[3:] for row in rows if row[0] == "substitute"}
	if substitutions:
		return _substitute_route(tuktuk, substitutions)
	drivers = {row[2]: row[2:] for row in vehicle_rows if row[2]}
	if not drivers:
		return Route(SUSPENSE_ROUTE, tuktuk=tuktuk, reason=f"vehicle {tuktuk} has no active driver"), None
	if len(drivers) > 1:
		return Route(
			SUSPENSE_ROUTE, tuktuk=tuktuk, reason=f"vehicle {tuktuk} has several active drivers"
		), None
	((name, driver_values),) = drivers.items()
	return Route(PAYMENT, driver=name, tuktuk=tuktuk), driver_row(driver_values)


def vehicle_unavailable_reason(tuktuk: str, vehicle_status: str) -> str:
	"""The suspense reason of a payment to a vehicle that is not Active (Maintenance, Retired)."""
	if vehicle_status == VehicleStatus.MAINTENANCE:
		return f"vehicle {tuktuk} is in Maintenance"
	return f"vehicle {tuktuk} is {vehicle_status}"


def _substitute_route(tuktuk: str, substitutions: dict) -> tuple[Route, DriverRow | None]:
	"""The route to the substitute of the one Active substitution covering the date."""
	if len(substitutions) > 1:
		reason = f"vehicle {tuktuk} has several active substitutions on the payment's date"
		return Route(SUSPENSE_ROUTE, tuktuk=tuktuk, reason=reason), None
	((substitution, values),) = substitutions.items()
	if not values[0]:
		reason = f"the substitute of substitution {substitution} does not exist"
		return Route(SUSPENSE_ROUTE, tuktuk=tuktuk, reason=reason), None
	substitute = driver_row(values)
	if substitute.status != "Active":
		reason = f"substitute {substitute.name} of vehicle {tuktuk} is {substitute.status or 'not active'}"
		return Route(SUSPENSE_ROUTE, tuktuk=tuktuk, reason=reason), None
	route = Route(PAYMENT, driver=substitute.name, tuktuk=tuktuk, substitution=substitution)
	return route, substitute


_LOCK_VEHICLE_ROUTE = (
	# Vehicle first, then the driver (the order the TukTuk Driver and TukTuk Substitution
	# controllers lock them in), then the substitutions covering the date: one locking read, so
	# every column is the latest committed value, not the look-up's snapshot.
	f"select v.status, s.name, s.substitute, {_DRIVER_SELECT} from `tabTukTuk Vehicle` v "
	"join `tabTukTuk Driver` d on d.name = %s "
	"left join `tabTukTuk Substitution` s on s.vehicle = v.name "
	f"and s.status = '{SubstitutionStatus.ACTIVE}' and %s between s.from_date and s.to_date "
	"where v.name = %s for update"
)


def lock_route(db: Database, route: Route, on_date: date) -> tuple[LockedDrivers, Route]:
	"""Lock the routed driver's row and re-check the route under the lock; one statement.

	For a vehicle payment the same locking read takes the vehicle row and the substitutions
	covering ``on_date`` (the posting date): if, since the look-up, the vehicle left Active, a
	substitution started, ended or was cancelled, or the vehicle or driver disappeared, the
	returned route is suspense with the reason (the existing pattern: a changed route is never
	guessed). Otherwise it is ``route`` unchanged; :func:`tuktuk_management.ledger.c2b._plan`
	then checks the locked driver row itself (Active, still assigned when not a substitute).
	Repayments lock the driver row alone (:func:`lock_drivers`).
	"""
	if route.kind != PAYMENT or not route.tuktuk:
		return lock_drivers(db, [route.driver]), route
	rows = db.sql(_LOCK_VEHICLE_ROUTE, (route.driver, on_date, route.tuktuk))
	locked = LockedDrivers()
	if not rows:
		return locked, _changed(route, "vehicle or driver changed while the payment was routed")
	vehicle_status = rows[0][0]
	row = driver_row(rows[0][3:])
	locked.rows[row.name] = row
	if vehicle_status != VehicleStatus.ACTIVE:
		return locked, _changed(route, vehicle_unavailable_reason(route.tuktuk, vehicle_status))
	current = {(name, substitute) for _status, name, substitute, *_driver in rows if name}
	expected = {(route.substitution, route.driver)} if route.substitution else set()
	if current != expected:
		return locked, _changed(route, "substitution changed while the payment was routed")
	return locked, route


def _changed(route: Route, reason: str) -> Route:
	return Route(SUSPENSE_ROUTE, tuktuk=route.tuktuk, reason=reason)


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
