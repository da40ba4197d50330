"""Unallocated payments: allocate suspense money to a driver, record missed payments.

A payment M-Pesa could not route (unknown account, vehicle without an active driver, inactive
driver) sits in suspense (``paybill → suspense``) as a TukTuk Transaction with payment status
Unallocated. :func:`allocate_payment` re-posts it from suspense exactly as if it had been routed
to the driver: the same split (:func:`tuktuk_management.ledger.c2b.split_for`), the same credit
lines, the same queued payout, under the driver's row lock, once (the transaction row is locked
and must still be Unallocated). :func:`record_missed_payment` enters a payment M-Pesa received
whose confirmation callback never arrived, through the confirmation path itself, so it is
idempotent on ``TransID`` and routed like any other payment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from tuktuk_management.daraja import models
from tuktuk_management.ledger import accounts, c2b
from tuktuk_management.ledger.database import Database, in_savepoint
from tuktuk_management.ledger.drivers import lock_drivers
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.payouts.state import queue_payout
from tuktuk_management.ledger.postings import CorrectionRefused, NotFound
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.split import Split, effective_target_kes
from tuktuk_management.ledger.status import PaymentStatus
from tuktuk_management.ledger.substitutions import driver_of_vehicle_on
from tuktuk_management.ledger.writer import PostingLine, post_voucher

ALLOCATED = PaymentStatus.ALLOCATED
UNALLOCATED = PaymentStatus.UNALLOCATED
SAVEPOINT = "tuktuk_allocation"


class AlreadyAllocated(CorrectionRefused):
	"""The payment is no longer in suspense (allocated before, or never unallocated)."""


@dataclass(frozen=True)
class Allocation:
	"""An allocated payment: the transaction (TransID), driver, how it was split, the payout."""

	transaction: str
	driver: str
	kind: str
	split: Split
	payout: str | None

	def as_dict(self) -> dict:
		return {
			"transaction": self.transaction,
			"driver": self.driver,
			"transaction_type": self.kind,
			"amount_kes": self.split.amount_kes,
			"target_contribution_kes": self.split.target_contribution_kes,
			"driver_share_kes": self.split.driver_share_kes,
			"deposit_contribution_kes": self.split.deposit_contribution_kes,
			"payout": self.payout,
		}


def current_driver_of(db: Database, vehicle: str, on_date: date | None = None) -> str:
	"""Who drives ``vehicle`` on ``on_date``: the substitute of an Active substitution covering it,
	else the one Active driver assigned to it; raises CorrectionRefused otherwise."""
	if not db.sql("select name from `tabTukTuk Vehicle` where name = %s", (vehicle,)):
		raise NotFound(f"Vehicle {vehicle} does not exist.")
	substitute = driver_of_vehicle_on(db, vehicle, on_date) if on_date else None
	if substitute:
		return substitute
	drivers = [
		name
		for (name,) in db.sql(
			"select name from `tabTukTuk Driver` where assigned_tuktuk = %s and status = 'Active' order by name",
			(vehicle,),
		)
	]
	if len(drivers) != 1:
		raise CorrectionRefused(
			f"Vehicle {vehicle} has {'no' if not drivers else 'several'} active driver"
			f"{'' if not drivers else 's'}; allocate the payment to a driver instead."
		)
	return drivers[0]


def allocate_payment(
	db: Database,
	transaction: str,
	*,
	driver: str | None = None,
	vehicle: str | None = None,
	settings: LedgerSettings,
	now: datetime,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> Allocation:
	"""Move an Unallocated payment from suspense to ``driver`` (or ``vehicle``'s current driver:
	its substitute on ``now``'s date during a substitution, else its assigned Active driver).

	The split is a Repayment when the payment's account number is the driver's Sunny ID, a
	Payment otherwise. Posts ``suspense → target/payable/deposit`` under the payment's voucher
	(TukTuk Transaction / TransID), queues the payout of the driver's share, and marks the
	transaction Allocated with its driver, vehicle, split and ``allocated_at``/``allocated_by``.
	on_step: the writer's steps, "payout_queued", "transaction_updated". Raises
	:class:`AlreadyAllocated` (nothing changes) if it was allocated before, :class:`NotFound` or
	:class:`CorrectionRefused` for a bad driver, vehicle or transaction. Never commits.
	"""
	if bool(driver) == bool(vehicle):
		raise CorrectionRefused("Give either a driver or a vehicle to allocate the payment to.")
	if vehicle:
		driver = current_driver_of(db, vehicle, now.date())
	step = on_step or (lambda _name: None)
	with in_savepoint(db, SAVEPOINT):
		allocation = _allocate(
			db, transaction, driver, settings=settings, now=now, user=user, step=step, vehicle=vehicle
		)
	return allocation


def _allocate(
	db: Database,
	transaction: str,
	driver: str,
	*,
	settings: LedgerSettings,
	now: datetime,
	user: str,
	step,
	vehicle: str | None = None,
) -> Allocation:
	locked = lock_drivers(db, [driver])  # lock order everywhere: drivers, then the transaction
	if driver not in locked:
		raise NotFound(f"Driver {driver} does not exist.")
	row = locked[driver]
	if row.status != "Active":
		raise CorrectionRefused(
			f"Driver {driver} is {row.status or 'not active'}; only an active driver receives payments."
		)
	payment = _lock_unallocated_payment(db, transaction)
	amount_kes = to_kes(payment["amount"])
	sunny_id = db.sql("select sunny_id from `tabTukTuk Driver` where name = %s", (driver,))[0][0]
	account = (payment["bill_ref_number"] or "").strip().upper()
	kind = c2b.REPAYMENT if sunny_id and account == sunny_id.upper() else c2b.PAYMENT
	target_kes = effective_target_kes(
		row.daily_target_kes, settings.global_daily_target_kes, row.target_rollover_kes
	)
	split = c2b.split_for(kind, row, amount_kes, target_kes, settings)
	post_voucher(
		db,
		voucher_type=accounts.TRANSACTION_DOCTYPE,
		voucher_no=transaction,
		lines=[PostingLine(accounts.SUSPENSE, debit_kes=amount_kes), *c2b.split_credit_lines(split, driver)],
		posting_datetime=now,
		locked=locked,
		target_kes_by_driver={driver: target_kes},
		remarks=f"Allocation of {transaction} to {driver} ({kind.lower()})",
		user=user,
		on_step=step,
	)
	payout = None
	# As for a payment routed here (ledger/c2b.py): with instant payouts off the share stays payable.
	if split.driver_share_kes and settings.instant_payouts_enabled:
		payout = queue_payout(
			db, driver=driver, amount_kes=split.driver_share_kes, transaction=transaction, now=now, user=user
		)
		step("payout_queued")
	tuktuk = vehicle or row.assigned_tuktuk  # a substitute is paid for the vehicle it drives
	_mark_allocated(db, transaction, driver, kind, split, tuktuk=tuktuk, now=now, user=user)
	step("transaction_updated")
	return Allocation(transaction, driver, kind, split, payout)


def _lock_unallocated_payment(db: Database, transaction: str) -> dict:
	"""The payment row, locked ``FOR UPDATE``; refused unless it is still in suspense."""
	payments = db.sql(
		"""select name, amount, payment_status, bill_ref_number, driver, allocated_at
		from `tabTukTuk Transaction` where name = %s for update""",
		(transaction,),
		as_dict=True,
	)
	if not payments:
		raise NotFound(f"Transaction {transaction} does not exist.")
	payment = payments[0]
	if payment["payment_status"] != UNALLOCATED:
		to_whom = f" to driver {payment['driver']}" if payment["driver"] else ""
		raise AlreadyAllocated(
			f"Transaction {transaction} is {payment['payment_status']}{to_whom}, not in suspense; "
			"it was not allocated again."
		)
	return payment


def _mark_allocated(
	db: Database,
	transaction: str,
	driver: str,
	kind: str,
	split: Split,
	*,
	tuktuk: str | None,
	now: datetime,
	user: str,
) -> None:
	"""Record the allocation on the payment row: driver, vehicle (a Payment's), split, who and when."""
	db.sql(
		"""update `tabTukTuk Transaction` set payment_status = %s, transaction_type = %s, driver = %s,
		tuktuk = coalesce(%s, tuktuk), target_contribution = %s, driver_share = %s, deposit_contribution = %s,
		allocated_at = %s, allocated_by = %s, modified = %s, modified_by = %s where name = %s""",
		(
			ALLOCATED,
			kind,
			driver,
			tuktuk if kind == c2b.PAYMENT else None,
			split.target_contribution_kes,
			split.driver_share_kes,
			split.deposit_contribution_kes,
			now,
			user,
			now,
			user,
			transaction,
		),
	)


def record_missed_payment(
	db: Database,
	*,
	trans_id: str,
	amount_kes: int,
	account: str,
	trans_time: str,
	settings: LedgerSettings,
	now: datetime,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> c2b.C2BOutcome:
	"""Enter a payment M-Pesa received (seen on the M-Pesa statement) whose callback never came.

	trans_id: the M-Pesa receipt (``TransID``); amount_kes: whole KES > 0; account: the
	``BillRefNumber`` the customer typed; trans_time: ``YYYYMMDDHHmmss`` (EAT) from the statement.
	The body is built in Daraja's shape and applied by
	:func:`tuktuk_management.ledger.c2b.process_confirmation`, so it is routed and split like the
	callback would have been and is idempotent on ``TransID``: entering it twice, or the callback
	arriving late, is a Duplicate (a different amount or account is a Conflict). Returns the
	:class:`~tuktuk_management.ledger.c2b.C2BOutcome`; malformed input is an Invalid outcome.
	"""
	body = models.c2b_body(
		trans_id=str(trans_id).strip(),
		trans_time=str(trans_time).strip(),
		amount=str(amount_kes),
		account=str(account).strip(),
		shortcode=settings.mpesa_paybill or "000000",
		msisdn="",
		first_name="",
	)
	return c2b.process_confirmation(db, body, settings=settings, now=now, user=user, on_step=on_step)
