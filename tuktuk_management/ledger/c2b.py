"""C2B confirmation processing and the validation decision (DESIGN §3).

One call of :func:`process_confirmation` is one unit of work inside the caller's transaction:
route the payment, lock the driver row, split, insert the TukTuk Transaction (unique on the
M-Pesa ``TransID``), post the balanced voucher, queue the payout. It never commits; on any
error it rolls back to its own savepoint, so the caller's earlier work is untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tuktuk_management.daraja import models
from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database, is_duplicate_entry
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.rows import insert_statement, standard_values
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.split import (
	Split,
	effective_fare_percentage,
	effective_target_kes,
	split_payment,
	split_repayment,
)
from tuktuk_management.ledger.writer import (
	DriverRow,
	LockedDrivers,
	PostingLine,
	lock_drivers,
	new_name,
	post_voucher,
)

SUNNY_ID_PATTERN = re.compile(r"^D\d{6}$")

# Outcome statuses; the same words are TukTuk Callback Log statuses.
PROCESSED = "Processed"
DUPLICATE = "Duplicate"
CONFLICT = "Conflict"
UNALLOCATED = "Unallocated"
INVALID = "Invalid"
PAUSED = "Received"

PAYMENT = "Payment"
REPAYMENT = "Repayment"
SUSPENSE_ROUTE = "Unallocated"  # TukTuk Transaction.transaction_type of money posted to suspense

SAVEPOINT = "tuktuk_c2b"

_TRANSACTION_COLUMNS = (
	"transaction_id",
	"transaction_type",
	"payment_status",
	"timestamp",
	"bill_ref_number",
	"tuktuk",
	"driver",
	"business_shortcode",
	"amount",
	"target_contribution",
	"driver_share",
	"deposit_contribution",
	"callback_log",
	"unallocated_reason",
)
_INSERT_TRANSACTION = insert_statement("TukTuk Transaction", _TRANSACTION_COLUMNS)
_PAYOUT_COLUMNS = (
	"driver",
	"amount",
	"status",
	"transaction",
	"originator_conversation_id",
	"queued_at",
	"attempts",
)
_INSERT_PAYOUT = insert_statement("TukTuk Payout", _PAYOUT_COLUMNS)


@dataclass(frozen=True)
class Route:
	"""Where a payment goes: ``kind`` is Payment, Repayment or Unallocated (with ``reason``)."""

	kind: str
	driver: str | None = None
	tuktuk: str | None = None
	reason: str = ""


@dataclass(frozen=True)
class C2BOutcome:
	"""The result of one confirmation: ``status`` is one of the callback log statuses.

	``transaction`` is the TukTuk Transaction name (= TransID) when one exists, ``reason`` says
	why a body was Invalid, Conflict or Unallocated (no personal data).
	"""

	status: str
	trans_id: str = ""
	transaction: str | None = None
	driver: str | None = None
	split: Split | None = None
	payout: str | None = None
	reason: str = ""
	already_handled: bool = False


def resolve_route(db: Database, account_reference: str) -> Route:
	"""Route a ``BillRefNumber`` (already trimmed and upper-cased) without taking locks.

	A Sunny ID (``D`` + six digits) of an Active driver is a repayment; a vehicle's
	``mpesa_account`` is a payment to the one Active driver assigned to it; anything else is
	unallocated (suspense) with the reason.
	"""
	if not account_reference:
		return Route(SUSPENSE_ROUTE, reason="no account number (BillRefNumber) given")
	if SUNNY_ID_PATTERN.match(account_reference):
		rows = db.sql("select name, status from `tabTukTuk Driver` where sunny_id = %s", (account_reference,))
		if rows:
			name, status = rows[0]
			if status != "Active":
				return Route(SUSPENSE_ROUTE, driver=name, reason=f"driver {name} is {status or 'not active'}")
			return Route(REPAYMENT, driver=name)
	rows = db.sql(
		"""select v.name, d.name from `tabTukTuk Vehicle` v
		left join `tabTukTuk Driver` d on d.assigned_tuktuk = v.name and d.status = 'Active'
		where v.mpesa_account = %s""",
		(account_reference,),
	)
	if not rows:
		return Route(SUSPENSE_ROUTE, reason="unknown account number")
	tuktuk = rows[0][0]
	drivers = sorted({driver for _, driver in rows if driver})
	if not drivers:
		return Route(SUSPENSE_ROUTE, tuktuk=tuktuk, reason=f"vehicle {tuktuk} has no active driver")
	if len(drivers) > 1:
		return Route(SUSPENSE_ROUTE, tuktuk=tuktuk, reason=f"vehicle {tuktuk} has several active drivers")
	return Route(PAYMENT, driver=drivers[0], tuktuk=tuktuk)


def decide_validation(db: Database, body: bytes | str | dict, settings: LedgerSettings) -> tuple[str, str]:
	"""The answer to a C2B validation callback: ``(ResultCode, reason)``.

	``"0"`` accepts; ``C2B00013`` for an amount that is not a positive whole number of shillings
	(or above the M-Pesa limit); ``C2B00015`` for another paybill's BusinessShortCode;
	``C2B00012`` for an account number that is neither a vehicle nor a driver's Sunny ID;
	``C2B00016`` for any other malformed body. Known accounts are accepted even without an
	active driver: the money then goes to suspense on confirmation.
	"""
	try:
		callback = models.parse_c2b(body)
	except models.InvalidCallback as exc:
		return exc.result_code, exc.reason
	if settings.mpesa_paybill and callback.BusinessShortCode != settings.mpesa_paybill:
		return models.INVALID_SHORTCODE, "BusinessShortCode is not the configured paybill"
	route = resolve_route(db, callback.account_reference)
	if route.kind == SUSPENSE_ROUTE and route.driver is None and route.tuktuk is None:
		return models.INVALID_ACCOUNT, route.reason
	return models.ACCEPT, ""


def _compare_existing(db: Database, callback: models.C2BCallback, *, locking: bool) -> C2BOutcome | None:
	rows = db.sql(
		"select name, amount, bill_ref_number, driver from `tabTukTuk Transaction` where name = %s"
		+ (" lock in share mode" if locking else ""),
		(callback.TransID,),
	)
	if not rows:
		return None
	name, amount, bill_ref_number, driver = rows[0]
	differences = []
	if to_kes(amount) != callback.amount_kes:
		differences.append("amount")
	if (bill_ref_number or "").strip().upper() != callback.account_reference:
		differences.append("account number")
	if differences:
		return C2BOutcome(
			CONFLICT,
			trans_id=callback.TransID,
			transaction=name,
			driver=driver,
			reason=f"TransID already recorded with a different {' and '.join(differences)}; not applied",
		)
	return C2BOutcome(DUPLICATE, trans_id=callback.TransID, transaction=name, driver=driver)


def process_confirmation(
	db: Database,
	body: bytes | str | dict,
	*,
	settings: LedgerSettings,
	now: datetime,
	callback_log: str | None = None,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> C2BOutcome:
	"""Apply one C2B confirmation body (Daraja shape) to the books, idempotently on ``TransID``.

	settings: from :func:`tuktuk_management.ledger.settings.load_settings`.
	now: the clock (naive, site time zone): creation time and ``posting_datetime``.
	callback_log: the TukTuk Callback Log name the body was stored under, linked from the
	transaction. on_step: test hook, called after each write with the step's name.

	Returns a :class:`C2BOutcome`; malformed bodies, another paybill's BusinessShortCode,
	redeliveries and conflicts are outcomes, not exceptions. Database errors propagate after
	rolling back to this call's savepoint (deadlocks are retried by the caller, see
	:func:`tuktuk_management.ledger.database.run_with_retry`).
	"""
	try:
		callback = models.parse_c2b(body)
	except models.InvalidCallback as exc:
		return C2BOutcome(INVALID, trans_id=models.trans_id_of(body), reason=exc.reason)
	if settings.mpesa_paybill and callback.BusinessShortCode != settings.mpesa_paybill:
		return C2BOutcome(
			INVALID, trans_id=callback.TransID, reason="BusinessShortCode is not the configured paybill"
		)

	existing = _compare_existing(db, callback, locking=False)
	if existing:
		return existing

	db.savepoint(SAVEPOINT)
	try:
		outcome = _apply(
			db, callback, settings=settings, now=now, callback_log=callback_log, user=user, on_step=on_step
		)
	except Exception as exc:
		db.rollback(save_point=SAVEPOINT)
		if is_duplicate_entry(exc):
			# A concurrent delivery of the same TransID committed first.
			existing = _compare_existing(db, callback, locking=True)
			if existing:
				return existing
		raise
	db.release_savepoint(SAVEPOINT)
	return outcome


def _apply(
	db: Database,
	callback: models.C2BCallback,
	*,
	settings: LedgerSettings,
	now: datetime,
	callback_log: str | None,
	user: str,
	on_step: Callable[[str], None] | None,
) -> C2BOutcome:
	step = on_step or (lambda _name: None)
	amount_kes = callback.amount_kes
	route = resolve_route(db, callback.account_reference)
	locked = LockedDrivers()
	target_kes = 0
	if route.driver and route.kind != SUSPENSE_ROUTE:
		locked = lock_drivers(db, [route.driver])
		row = locked.rows.get(route.driver)
		# The route was read without locks: confirm it under the driver's row lock.
		if row is None or row.status != "Active":
			route = Route(
				SUSPENSE_ROUTE, tuktuk=route.tuktuk, reason="driver changed while the payment was routed"
			)
		elif route.kind == PAYMENT and row.assigned_tuktuk != route.tuktuk:
			route = Route(
				SUSPENSE_ROUTE, tuktuk=route.tuktuk, reason="vehicle assignment changed while routing"
			)
		else:
			target_kes = effective_target_kes(
				row.daily_target_kes, settings.global_daily_target_kes, row.target_rollover_kes
			)

	if route.kind in (PAYMENT, REPAYMENT):
		split = split_for(route.kind, locked[route.driver], amount_kes, target_kes, settings)
		status = PROCESSED
	else:
		split = None
		status = UNALLOCATED
	driver = route.driver if status == PROCESSED else None

	trans_id = callback.TransID
	db.sql(
		_INSERT_TRANSACTION,
		(
			*standard_values(trans_id, now, user),
			trans_id,
			route.kind,
			"Completed" if status == PROCESSED else "Unallocated",
			callback.trans_time_in(settings.site_timezone),
			callback.BillRefNumber[:140],
			route.tuktuk,
			driver,
			callback.BusinessShortCode,
			amount_kes,
			split.target_contribution_kes if split else 0,
			split.driver_share_kes if split else 0,
			split.deposit_contribution_kes if split else 0,
			callback_log,
			route.reason if status == UNALLOCATED else None,
		),
	)
	step("transaction_inserted")

	lines = [PostingLine(accounts.PAYBILL, debit_kes=amount_kes)]
	if split is None:
		lines.append(PostingLine(accounts.SUSPENSE, credit_kes=amount_kes))
	else:
		lines += split_credit_lines(split, driver)
	post_voucher(
		db,
		voucher_type=accounts.TRANSACTION_DOCTYPE,
		voucher_no=trans_id,
		lines=lines,
		posting_datetime=now,
		locked=locked,
		target_kes_by_driver={driver: target_kes} if driver else None,
		remarks=f"C2B {route.kind.lower()} {trans_id}",
		user=user,
		on_step=on_step,
	)

	payout = None
	# With instant payouts off the share stays in payable (payout_pending) for a later payout.
	if split and split.driver_share_kes and settings.instant_payouts_enabled:
		payout = queue_payout(
			db, driver=driver, amount_kes=split.driver_share_kes, transaction=trans_id, now=now, user=user
		)
		step("payout_queued")
	return C2BOutcome(
		status,
		trans_id=trans_id,
		transaction=trans_id,
		driver=driver,
		split=split,
		payout=payout,
		reason=route.reason if status == UNALLOCATED else "",
	)


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


def queue_payout(
	db: Database, *, driver: str, amount_kes: int, transaction: str | None, now: datetime, user: str
) -> str:
	"""Insert a Queued TukTuk Payout of ``amount_kes`` (whole KES > 0) for ``driver``; its name.

	transaction: the TukTuk Transaction it pays the share of (None for a deposit refund). The
	``OriginatorConversationID`` is ``TTK-<payout name>``, the idempotency key at Daraja.
	"""
	assert amount_kes > 0, amount_kes
	payout = new_name()
	db.sql(
		_INSERT_PAYOUT,
		(
			*standard_values(payout, now, user),
			driver,
			amount_kes,
			"Queued",
			transaction,
			f"TTK-{payout}",
			now,
			0,
		),
	)
	return payout
