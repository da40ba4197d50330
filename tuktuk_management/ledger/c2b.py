"""C2B confirmation processing and the validation decision (DESIGN §3).

A confirmation is handled in two steps inside the caller's transaction. :func:`prepare_confirmation`
parses the body, checks for an earlier delivery of its ``TransID``, routes it and plans the split
from an unlocked read (no writes, no locks). :func:`apply_confirmation` writes the plan: insert the
TukTuk Transaction (unique on the M-Pesa ``TransID``) and the payout, lock the driver row, plan
again from the locked row, post the balanced voucher. The callback log claims itself between the
two (:func:`tuktuk_management.ledger.callback_log.process_logged_confirmation`);
:func:`process_confirmation` runs both for callers without a log. Nothing here commits; an
error rolls back to the call's own savepoint, so the caller's earlier work is untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tuktuk_management.daraja import models
from tuktuk_management.ledger import accounts, receipts
from tuktuk_management.ledger.c2b_routing import (  # routing names stay importable from here
	PAYMENT,
	REPAYMENT,
	SUSPENSE_ROUTE,
	LookUp,
	Route,
	lock_route,
	look_up,
	resolve_route,
	split_credit_lines,
	split_for,
)
from tuktuk_management.ledger.database import Database, is_duplicate_entry
from tuktuk_management.ledger.drivers import (
	DriverRow,
	LockedDrivers,
)
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.payouts.state import queue_payout
from tuktuk_management.ledger.rows import insert_statement, standard_values
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.split import (
	Split,
	effective_target_kes,
)
from tuktuk_management.ledger.status import LogStatus, PaymentStatus
from tuktuk_management.ledger.writer import PostingLine, post_voucher

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
	"receipt_text",  # the SMS receipt's outbox entry (ledger/receipts.py): no INSERT of its own
	"receipt_pending",
)
_INSERT_TRANSACTION = insert_statement("TukTuk Transaction", _TRANSACTION_COLUMNS)


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
	message: str | None = None  # the key of its SMS receipt (made into a message by the sender)


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
	"""The recorded transaction with the callback's TransID, compared (None if there is none).

	Run only after the insert hit the TransID's unique key, so it also looks at
	``transaction_id``: transactions recorded before the ledger (by the app this one replaced)
	have random names with the TransID in ``transaction_id``, which the look-up by name misses.
	"""
	rows = db.sql(
		"select name, amount, bill_ref_number, driver from `tabTukTuk Transaction` "
		"where name = %s or transaction_id = %s" + (" lock in share mode" if locking else ""),
		(callback.TransID, callback.TransID),
	)
	return _existing_outcome(callback, rows[0]) if rows else None


def _existing_outcome(callback: models.C2BCallback, existing: tuple) -> C2BOutcome:
	"""Duplicate if the recorded transaction ``(name, amount, bill_ref_number, driver)`` matches the
	callback's amount and account, else Conflict (not applied). A pre-ledger transaction has no
	``bill_ref_number`` (None): only its amount is compared."""
	name, amount, bill_ref_number, driver = existing
	differences = []
	if to_kes(amount) != callback.amount_kes:
		differences.append("amount")
	if bill_ref_number is not None and bill_ref_number.strip().upper() != callback.account_reference:
		differences.append("account number")
	if differences:
		return C2BOutcome(
			LogStatus.CONFLICT,
			trans_id=callback.TransID,
			transaction=name,
			driver=driver,
			reason=f"TransID already recorded with a different {' and '.join(differences)}; not applied",
		)
	return C2BOutcome(LogStatus.DUPLICATE, trans_id=callback.TransID, transaction=name, driver=driver)


@dataclass(frozen=True)
class Prepared:
	"""A confirmation parsed, checked, routed and planned, before anything is written or locked.

	``outcome`` is final when there is nothing to write (Invalid, Duplicate, Conflict); otherwise
	it is the expected one (Processed or Unallocated) and :func:`apply_confirmation` returns the
	actual one (the locked driver row decides; a concurrent redelivery makes it a Duplicate).
	"""

	outcome: C2BOutcome
	callback: models.C2BCallback | None = None
	looked_up: LookUp | None = None
	plan: _Plan | None = None

	@property
	def writes(self) -> bool:
		"""True if applying it writes a payment (the outcome is only expected)."""
		return self.plan is not None


def prepare_confirmation(
	db: Database, body: bytes | str | dict, *, settings: LedgerSettings, now: datetime | None = None
) -> Prepared:
	"""Parse, look up, route and plan one C2B confirmation body (Daraja shape); no writes, no locks.

	now: the clock (naive, site time zone) the payment will be posted with; its date decides who
	drives the vehicle (a substitution covering it), and :func:`apply_confirmation` re-checks that
	under the lock with its own ``now``. One read at most (the redelivery check, the route and the
	routed driver's row in one query).
	Malformed bodies, another paybill's BusinessShortCode, redeliveries and conflicts come back as
	final outcomes, not exceptions.
	"""
	try:
		callback = models.parse_c2b(body)
	except models.InvalidCallback as exc:
		return Prepared(C2BOutcome(LogStatus.INVALID, trans_id=models.trans_id_of(body), reason=exc.reason))
	if settings.mpesa_paybill and callback.BusinessShortCode != settings.mpesa_paybill:
		return Prepared(
			C2BOutcome(
				LogStatus.INVALID,
				trans_id=callback.TransID,
				reason="BusinessShortCode is not the configured paybill",
			)
		)
	looked_up = look_up(db, callback.account_reference, callback.TransID, on_date=now.date() if now else None)
	if looked_up.existing:
		return Prepared(_existing_outcome(callback, looked_up.existing))
	plan = _plan(looked_up.route, looked_up.driver_row, callback.amount_kes, settings)
	return Prepared(plan.outcome(callback.TransID), callback, looked_up, plan)


def apply_confirmation(
	db: Database,
	prepared: Prepared,
	*,
	settings: LedgerSettings,
	now: datetime,
	callback_log: str | None = None,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
	savepoint: bool = True,
) -> C2BOutcome:
	"""Write a prepared confirmation (see :func:`_apply`); its final outcome. Never commits.

	now: the clock (naive, site time zone): creation time and ``posting_datetime``.
	callback_log: the TukTuk Callback Log name the body was stored under, linked from the
	transaction. on_step: test hook, called after each write with the step's name.
	savepoint: False skips this call's savepoint (one round trip) for a caller whose whole
	transaction is this unit of work and which rolls it all back on any error (the callback log's
	:func:`~tuktuk_management.ledger.callback_log.process_logged_confirmation`); an error then
	leaves the partial writes to that rollback.

	Database errors propagate after rolling back to this call's savepoint (deadlocks are retried
	by the caller, see :func:`tuktuk_management.ledger.database.run_with_retry`).
	"""
	if not prepared.writes:
		return prepared.outcome
	if savepoint:
		db.savepoint(SAVEPOINT)
	try:
		_insert_transaction(db, prepared, settings=settings, now=now, callback_log=callback_log, user=user)
	except Exception as exc:
		if savepoint:
			db.rollback(save_point=SAVEPOINT)
		# A concurrent delivery of the same TransID committed first. The failed INSERT was the
		# first write and MariaDB undid just that statement, so nothing of this payment is left
		# even without the savepoint.
		existing = _compare_existing(db, prepared.callback, locking=True) if is_duplicate_entry(exc) else None
		if existing:
			return existing
		raise
	# The savepoint is not released: that would be one more round trip while the driver row is
	# locked. MariaDB drops it at commit or rollback, and setting it again replaces it.
	try:
		return _post_payment(db, prepared, settings=settings, now=now, user=user, on_step=on_step)
	except Exception:
		if savepoint:
			db.rollback(save_point=SAVEPOINT)
		raise


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
	"""Apply one C2B confirmation body to the books, idempotently on ``TransID``: prepare, apply.

	For callers without a callback log (allocation, tests, benchmarks); the arguments are those of
	:func:`apply_confirmation`. Returns a :class:`C2BOutcome`.
	"""
	prepared = prepare_confirmation(db, body, settings=settings, now=now)
	return apply_confirmation(
		db, prepared, settings=settings, now=now, callback_log=callback_log, user=user, on_step=on_step
	)


@dataclass(frozen=True)
class _Plan:
	"""What a payment writes, decided from a driver row: the route, status, split and target."""

	route: Route
	status: str
	split: Split | None
	target_kes: int
	payout_kes: int  # the payout to queue now: the driver's share, 0 while instant payouts are off

	@property
	def driver(self) -> str | None:
		return self.route.driver if self.status == LogStatus.PROCESSED else None

	def outcome(self, trans_id: str, payout: str | None = None, message: str | None = None) -> C2BOutcome:
		return C2BOutcome(
			self.status,
			trans_id=trans_id,
			transaction=trans_id,
			driver=self.driver,
			split=self.split,
			payout=payout,
			reason=self.route.reason if self.status == LogStatus.UNALLOCATED else "",
			message=message if self.driver else None,
		)

	def receipt_inputs(self) -> tuple:
		"""What the receipt's text is rendered from (see :func:`receipts.receipt_text`)."""
		return (self.driver, self.route.kind, self.split, self.target_kes)

	def transaction_fields(self) -> tuple:
		"""``transaction_type, payment_status, driver, target_contribution, driver_share,
		deposit_contribution, unallocated_reason`` of the TukTuk Transaction."""
		split = self.split
		return (
			self.route.kind,
			PaymentStatus.COMPLETED if self.status == LogStatus.PROCESSED else PaymentStatus.UNALLOCATED,
			self.driver,
			split.target_contribution_kes if split else 0,
			split.driver_share_kes if split else 0,
			split.deposit_contribution_kes if split else 0,
			self.route.reason if self.status == LogStatus.UNALLOCATED else None,
		)


def _plan(route: Route, row: DriverRow | None, amount_kes: int, settings: LedgerSettings) -> _Plan:
	"""Split ``amount_kes`` for ``route`` given the driver's row (pure: no database).

	Called twice per payment: before the lock with the row read by the route's query, and under
	the lock with the locked row. A routed driver that is missing, no longer Active or no longer
	on the vehicle (unless paid as a substitute) sends the money to suspense.
	"""
	if route.driver and route.kind != SUSPENSE_ROUTE:
		if row is None or row.status != "Active":
			route = Route(
				SUSPENSE_ROUTE, tuktuk=route.tuktuk, reason="driver changed while the payment was routed"
			)
		elif route.kind == PAYMENT and not route.substitution and row.assigned_tuktuk != route.tuktuk:
			route = Route(
				SUSPENSE_ROUTE, tuktuk=route.tuktuk, reason="vehicle assignment changed while routing"
			)
	if route.kind == SUSPENSE_ROUTE or row is None:
		return _Plan(route, LogStatus.UNALLOCATED, None, 0, 0)
	target_kes = effective_target_kes(
		row.daily_target_kes, settings.global_daily_target_kes, row.target_rollover_kes
	)
	split = split_for(route.kind, row, amount_kes, target_kes, settings)
	# With instant payouts off the share stays in payable (payout_pending) for a later payout.
	payout_kes = split.driver_share_kes if settings.instant_payouts_enabled else 0
	return _Plan(route, LogStatus.PROCESSED, split, target_kes, payout_kes)


def _insert_transaction(
	db: Database,
	prepared: Prepared,
	*,
	settings: LedgerSettings,
	now: datetime,
	callback_log: str | None,
	user: str,
) -> None:
	"""Insert the planned TukTuk Transaction: the payment's first write, before the driver's lock.

	Its unique TransID makes a concurrent redelivery wait here (or fail with a duplicate key),
	not on the driver row. With receipts on, a payment to a driver carries its SMS receipt
	(``receipt_text``, ``receipt_pending``): the receipt costs no statement of its own.
	"""
	callback, planned = prepared.callback, prepared.plan
	kind, payment_status, driver, target_kes, share_kes, deposit_kes, reason = planned.transaction_fields()
	receipt = receipts.receipt_text(planned, callback.TransID, settings=settings)
	db.sql(
		_INSERT_TRANSACTION,
		(
			*standard_values(callback.TransID, now, user),
			callback.TransID,
			kind,
			payment_status,
			callback.trans_time_in(settings.site_timezone),
			callback.BillRefNumber[:140],
			prepared.looked_up.route.tuktuk,
			driver,
			callback.BusinessShortCode,
			callback.amount_kes,
			target_kes,
			share_kes,
			deposit_kes,
			callback_log,
			reason,
			receipt,
			1 if receipt else 0,
		),
	)


def _post_payment(
	db: Database,
	prepared: Prepared,
	*,
	settings: LedgerSettings,
	now: datetime,
	user: str,
	on_step: Callable[[str], None] | None,
) -> C2BOutcome:
	"""The rest of a payment once its transaction is inserted, the driver row locked briefly.

	Before the lock (the plan comes from the route and the driver's row read with it, no lock):
	insert the payout. Under the lock: plan again from the locked row; in the rare case the plan
	changed (another payment crossed the target or moved the balance, the driver was deactivated
	or moved) correct the transaction (its receipt too) and the payout; then post the voucher and
	move the caches. The commit (the caller's) ends the lock.
	"""
	step = on_step or (lambda _name: None)
	step("transaction_inserted")
	callback, planned, route = prepared.callback, prepared.plan, prepared.looked_up.route
	amount_kes, trans_id = callback.amount_kes, callback.TransID
	payout = _insert_payout(db, planned, trans_id, now=now, user=user) if planned.payout_kes else None
	if payout:
		step("payout_queued")

	locked = LockedDrivers()
	locked_row = None
	if route.driver and route.kind != SUSPENSE_ROUTE:
		# The driver row, and for a vehicle payment the vehicle and its substitutions, re-read
		# under the lock: a route changed since the look-up becomes suspense (lock_route).
		locked, route = lock_route(db, route, now.date())
		locked_row = locked.rows.get(route.driver)
	plan = _plan(route, locked_row, amount_kes, settings)
	fields_changed = plan.transaction_fields() != planned.transaction_fields()
	if fields_changed or (
		settings.sms_receipts_enabled and plan.receipt_inputs() != planned.receipt_inputs()
	):
		receipt_text = receipts.receipt_text(plan, trans_id, settings=settings)
		payout = _correct(
			db, trans_id, plan, payout, receipt_text, fields_changed, now=now, user=user, step=step
		)
	receipt = receipts.receipt_key(trans_id) if settings.sms_receipts_enabled and plan.driver else None

	driver, split = plan.driver, plan.split
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
		target_kes_by_driver={driver: plan.target_kes} if driver else None,
		remarks=f"C2B {plan.route.kind.lower()} {trans_id}",
		user=user,
		on_step=on_step,
	)
	return plan.outcome(trans_id, payout, receipt)


def _insert_payout(db: Database, plan: _Plan, trans_id: str, *, now: datetime, user: str) -> str:
	"""Queue the planned payout (sent after commit) with :func:`queue_payout`; return its name."""
	return queue_payout(
		db, driver=plan.driver, amount_kes=plan.payout_kes, transaction=trans_id, now=now, user=user
	)


def _correct(
	db: Database,
	trans_id: str,
	plan: _Plan,
	payout: str | None,
	receipt_text: str | None,
	fields_changed: bool,
	*,
	now: datetime,
	user: str,
	step: Callable[[str], None],
) -> str | None:
	"""Bring the transaction (with its receipt) and payout written before the lock in line with the
	locked ``plan``: one UPDATE of the transaction, the payout only if ``fields_changed``.

	Both rows were inserted by this transaction and nobody has seen them; returns the payout's
	name, or None when the locked plan pays nothing out.
	"""
	(kind, payment_status, driver, target_kes, share_kes, deposit_kes, reason) = plan.transaction_fields()
	db.sql(
		"""update `tabTukTuk Transaction` set transaction_type = %s, payment_status = %s, driver = %s,
		target_contribution = %s, driver_share = %s, deposit_contribution = %s, unallocated_reason = %s,
		receipt_text = %s, receipt_pending = %s where name = %s""",
		(
			*(kind, payment_status, driver, target_kes, share_kes, deposit_kes, reason),
			*(receipt_text, 1 if receipt_text else 0, trans_id),
		),
	)
	if not fields_changed:
		return payout
	if payout and plan.payout_kes:
		db.sql(
			"update `tabTukTuk Payout` set driver = %s, amount = %s where name = %s",
			(plan.driver, plan.payout_kes, payout),
		)
		return payout
	if payout:
		db.sql("delete from `tabTukTuk Payout` where name = %s", (payout,))
		return None
	if plan.payout_kes:
		payout = _insert_payout(db, plan, trans_id, now=now, user=user)
		step("payout_queued")
		return payout
	return None
