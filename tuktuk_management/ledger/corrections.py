"""Credit notes (issue 5): target waiver, deposit refund, payment reversal, balance adjustment.

A credit note is a voucher of its own (``voucher_type`` TukTuk Credit Note, ``voucher_no`` its
name). Submitting posts it; cancelling appends the reversal lines dated the day of
cancellation (the originals stay). Both run inside the caller's transaction under the driver's
row lock, behind a savepoint, and never commit. Postings (driver accounts are credit-normal):

=====================================  ===========================  ===========================
correction                             debit                        credit
=====================================  ===========================  ===========================
Target waiver X                        revenue X                    target X
Deposit refund X, pay out              deposit X                    payable X (payout queued)
Deposit refund X, settle shortfall     deposit X                    target X
Payment reversal X                     target / revenue / payable   paybill X
                                       / deposit (see below)
Balance adjustment X, increase         company account X            driver account X
Balance adjustment X, decrease         driver account X             company account X
=====================================  ===========================  ===========================

A payment reversal takes back, in this order, what is left of the payment's target
contribution (from the target account while the day is open, the rest from revenue once it
has been closed), then its payable share if that is not paid out yet (the unpaid payout is
cancelled and re-queued for any remainder), then a repayment's deposit part. The money goes
back to the customer through the paybill (an M-Pesa reversal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.c2b import queue_payout
from tuktuk_management.ledger.database import Database, in_savepoint
from tuktuk_management.ledger.money import NotWholeShillings, to_kes
from tuktuk_management.ledger.postings import (
	CorrectionRefused,
	NotFound,
	driver_targets,
	parties,
	refuse_negative_balances,
	reversal_lines,
)
from tuktuk_management.ledger.rows import insert_statement, standard_values
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.split import effective_target_kes
from tuktuk_management.ledger.writer import LockedDrivers, PostingLine, lock_drivers, post_voucher

CREDIT_NOTE_DOCTYPE = accounts.CREDIT_NOTE_DOCTYPE
PAYOUT_DOCTYPE = "TukTuk Payout"

TARGET_WAIVER = "Target waiver"
DEPOSIT_REFUND = "Deposit refund"
PAYMENT_REVERSAL = "Payment reversal"
BALANCE_ADJUSTMENT = "Balance adjustment"
CORRECTION_TYPES = (TARGET_WAIVER, DEPOSIT_REFUND, PAYMENT_REVERSAL, BALANCE_ADJUSTMENT)

PAY_OUT = "Pay out by M-Pesa"
SETTLE_SHORTFALL = "Settle shortfall"
REFUND_MODES = (PAY_OUT, SETTLE_SHORTFALL)
INCREASE = "Increase"
DECREASE = "Decrease"
ADJUSTMENT_COUNTER_ACCOUNTS = (accounts.REVENUE, accounts.SUSPENSE, accounts.PAYBILL, accounts.B2C)
REASON_CODES = ("Data entry error", "Cash received", "Cash paid out", "Damage charge", "Goodwill", "Other")
REASON_NEEDS_REMARKS = "Other"

REVERSIBLE_PAYMENT_STATUSES = ("Completed", "Allocated", "Partly Reversed")
UNPAID_PAYOUT_STATUSES = ("Queued", "Failed")  # not handed to M-Pesa: may still be cancelled
CANCELLED = "Cancelled"
AMOUNT_KES_MAX = 1_000_000  # far above any real correction; a typo guard

SAVEPOINT = "tuktuk_credit_note"

_CREDIT_NOTE_COLUMNS = (
	"correction_type",
	"driver",
	"amount",
	"transaction",
	"refund_mode",
	"driver_account",
	"direction",
	"counter_account",
	"reason_code",
	"remarks",
)


@dataclass(frozen=True)
class CreditNote:
	"""The fields of a TukTuk Credit Note the core reads; amounts in whole KES.

	transaction: TukTuk Transaction (TransID) for a Payment reversal. refund_mode: Deposit refund
	only. driver_account / direction / counter_account / reason_code: Balance adjustment only.
	"""

	name: str
	correction_type: str
	driver: str
	amount_kes: int
	transaction: str | None = None
	refund_mode: str = PAY_OUT
	driver_account: str | None = None
	direction: str | None = None
	counter_account: str = accounts.REVENUE
	reason_code: str = ""
	remarks: str = ""

	@classmethod
	def from_fields(cls, name: str, values: Mapping[str, Any]) -> CreditNote:
		"""Build from a document's field values (``amount`` in KES); raises CorrectionRefused."""
		try:
			amount_kes = to_kes(values.get("amount"))
		except NotWholeShillings as exc:
			raise CorrectionRefused("Amount must be a whole number of shillings.") from exc
		return cls(
			name=name,
			correction_type=values.get("correction_type") or "",
			driver=values.get("driver") or "",
			amount_kes=amount_kes,
			transaction=values.get("transaction") or None,
			refund_mode=values.get("refund_mode") or PAY_OUT,
			driver_account=values.get("driver_account") or None,
			direction=values.get("direction") or None,
			counter_account=values.get("counter_account") or accounts.REVENUE,
			reason_code=values.get("reason_code") or "",
			remarks=(values.get("remarks") or "").strip(),
		)


@dataclass
class Plan:
	"""What a credit note will post: lines, the signed change of each driver account (credit-normal
	KES), the part taken from revenue, and the payout work."""

	lines: list[PostingLine]
	target_kes: int = 0
	deposit_kes: int = 0
	payable_kes: int = 0
	revenue_kes: int = 0
	payout_kes: int = 0  # a new payout to queue (deposit refund paid out, or a share re-queued)
	payouts_to_cancel: list[str] = field(default_factory=list)
	transaction_reversed_kes: int = 0  # Payment reversal: the change of the payment's reversed total


@dataclass(frozen=True)
class CreditNotePosting:
	"""The result of posting or reversing a credit note: its ledger entry names and the parts."""

	credit_note: str
	entries: list[str]
	target_kes: int
	deposit_kes: int
	payable_kes: int
	revenue_kes: int
	payout: str | None
	cancelled_payouts: list[str]

	def as_dict(self) -> dict:
		return {
			"credit_note": self.credit_note,
			"ledger_entries": len(self.entries),
			"target_kes": self.target_kes,
			"deposit_kes": self.deposit_kes,
			"payable_kes": self.payable_kes,
			"revenue_kes": self.revenue_kes,
			"payout": self.payout,
			"cancelled_payouts": self.cancelled_payouts,
		}


def check_fields(note: CreditNote) -> None:
	"""The checks that need no database: type, amount, and each type's required fields."""
	if note.correction_type not in CORRECTION_TYPES:
		raise CorrectionRefused(f"Correction type must be one of: {', '.join(CORRECTION_TYPES)}.")
	if not note.driver:
		raise CorrectionRefused("Choose the driver the correction is for.")
	if not 0 < note.amount_kes <= AMOUNT_KES_MAX:
		raise CorrectionRefused(f"Amount must be more than 0 and at most {AMOUNT_KES_MAX:,} KES.")
	if note.correction_type == PAYMENT_REVERSAL and not note.transaction:
		raise CorrectionRefused("A payment reversal needs the transaction (TransID) it reverses.")
	if note.correction_type == DEPOSIT_REFUND and note.refund_mode not in REFUND_MODES:
		raise CorrectionRefused(f"Refund mode must be one of: {', '.join(REFUND_MODES)}.")
	if note.correction_type == BALANCE_ADJUSTMENT:
		if note.driver_account not in accounts.DRIVER_ACCOUNTS:
			raise CorrectionRefused("Choose the driver account to adjust: target, deposit or payable.")
		if note.direction not in (INCREASE, DECREASE):
			raise CorrectionRefused("Choose whether the adjustment increases or decreases the balance.")
		if note.counter_account not in ADJUSTMENT_COUNTER_ACCOUNTS:
			raise CorrectionRefused(
				f"The company account must be one of: {', '.join(ADJUSTMENT_COUNTER_ACCOUNTS)}."
			)
		if note.reason_code not in REASON_CODES:
			raise CorrectionRefused("A balance adjustment needs a reason code.")
		if note.reason_code == REASON_NEEDS_REMARKS and not note.remarks:
			raise CorrectionRefused("Reason code Other needs remarks saying why.")


def plan_credit_note(db: Database, note: CreditNote, *, settings: LedgerSettings) -> Plan:
	"""Check ``note`` against current balances and return what it would post (nothing written).

	Locks the driver row (and, for a payment reversal, the transaction and its unpaid payouts)
	``FOR UPDATE`` so the answer holds until the caller's transaction ends. Raises
	:class:`CorrectionRefused` with a manager-readable reason.
	"""
	check_fields(note)
	locked = _lock_driver(db, note.driver)
	return _plan(db, note, locked, settings)


def submit_credit_note(
	db: Database,
	note: CreditNote,
	*,
	settings: LedgerSettings,
	now: datetime,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> CreditNotePosting:
	"""Insert a submitted credit note row and post it, as one unit (the standalone path).

	Under Frappe the document is inserted by Frappe and :func:`post_credit_note` runs from
	``on_submit``. on_step is called with "document_inserted", then the writer's steps, then
	"document_updated". Never commits; on error rolls back to its savepoint.
	"""
	check_fields(note)
	with in_savepoint(db, SAVEPOINT):
		_insert_row(db, note, now=now, user=user)
		(on_step or (lambda _name: None))("document_inserted")
		posting = post_credit_note(db, note, settings=settings, now=now, user=user, on_step=on_step)
	return posting


def post_credit_note(
	db: Database,
	note: CreditNote,
	*,
	settings: LedgerSettings,
	now: datetime,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> CreditNotePosting:
	"""Post a submitted credit note (its row already exists) and record the posted parts on it.

	Locks the driver (and the transaction and unpaid payouts of a payment reversal), plans under
	the locks, posts through :func:`~tuktuk_management.ledger.writer.post_voucher` (voucher
	TukTuk Credit Note / ``note.name``), queues or cancels payouts, updates the transaction's
	reversed total and status, and writes ``target_kes``, ``deposit_kes``, ``payable_kes``,
	``revenue_kes``, ``payout`` and ``posted_at`` on the credit note row. on_step: the writer's
	steps, then "document_updated". Raises :class:`CorrectionRefused` (nothing written).
	"""
	check_fields(note)
	step = on_step or (lambda _name: None)
	with in_savepoint(db, SAVEPOINT + "_post"):
		locked = _lock_driver(db, note.driver)
		plan = _plan(db, note, locked, settings)
		entries = post_voucher(
			db,
			voucher_type=CREDIT_NOTE_DOCTYPE,
			voucher_no=note.name,
			lines=plan.lines,
			posting_datetime=now,
			locked=locked,
			target_kes_by_driver=driver_targets(locked, settings),
			remarks=f"{note.correction_type} {note.name}",
			user=user,
			on_step=step,
		)
		payout = _apply_payout_work(db, note, plan, now=now, user=user)
		if note.correction_type == PAYMENT_REVERSAL:
			_update_transaction(db, note.transaction, plan.transaction_reversed_kes, now=now, user=user)
		db.sql(
			f"""update `tab{CREDIT_NOTE_DOCTYPE}` set target_kes = %s, deposit_kes = %s, payable_kes = %s,
			revenue_kes = %s, payout = %s, posted_at = %s where name = %s""",
			(plan.target_kes, plan.deposit_kes, plan.payable_kes, plan.revenue_kes, payout, now, note.name),
		)
		step("document_updated")
	return CreditNotePosting(
		note.name,
		entries,
		plan.target_kes,
		plan.deposit_kes,
		plan.payable_kes,
		plan.revenue_kes,
		payout,
		plan.payouts_to_cancel,
	)


def cancel_credit_note(
	db: Database,
	name: str,
	*,
	settings: LedgerSettings,
	now: datetime,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> CreditNotePosting:
	"""Cancel a submitted credit note: mark it cancelled (docstatus 2) and reverse its posting.

	The standalone path; under Frappe, ``on_cancel`` calls :func:`reverse_credit_note` after
	Frappe has set the docstatus. Raises :class:`CorrectionRefused` if it is not submitted.
	"""
	with in_savepoint(db, SAVEPOINT):
		rows = db.sql(f"select docstatus from `tab{CREDIT_NOTE_DOCTYPE}` where name = %s for update", (name,))
		if not rows:
			raise NotFound(f"Credit note {name} does not exist.")
		if rows[0][0] != 1:
			raise CorrectionRefused(
				f"Credit note {name} is not submitted; only a submitted one is cancelled."
			)
		db.sql(
			f"update `tab{CREDIT_NOTE_DOCTYPE}` set docstatus = 2, modified = %s, modified_by = %s "
			"where name = %s",
			(now, user, name),
		)
		(on_step or (lambda _name: None))("document_cancelled")
		posting = reverse_credit_note(db, name, settings=settings, now=now, user=user, on_step=on_step)
	return posting


def reverse_credit_note(
	db: Database,
	name: str,
	*,
	settings: LedgerSettings,
	now: datetime,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> CreditNotePosting:
	"""Append the reversal of a credit note's posting, dated ``now`` (the day of cancellation).

	The original lines stay; each reversal line swaps debit and credit and names the line it
	reverses. A deposit refund's payout is cancelled if it has not been sent (refused once it
	has); a payment reversal's payable part is re-queued as a payout and the transaction's
	reversed total goes back down. Refused (nothing written) if a driver balance would go below
	zero, e.g. a waiver cancelled after the day's collections were closed.
	"""
	step = on_step or (lambda _name: None)
	with in_savepoint(db, SAVEPOINT + "_reverse"):
		rows = db.sql(
			f"select * from `tab{CREDIT_NOTE_DOCTYPE}` where name = %s for update", (name,), as_dict=True
		)
		if not rows:
			raise NotFound(f"Credit note {name} does not exist.")
		row = rows[0]
		note = CreditNote.from_fields(name, row)
		lines = reversal_lines(db, CREDIT_NOTE_DOCTYPE, name)
		locked = lock_drivers(db, parties(lines) or [note.driver])
		cancelled: list[str] = []
		payout = None
		if note.correction_type == DEPOSIT_REFUND and row.get("payout"):
			cancelled = _cancel_unpaid_payouts(
				db, [row["payout"]], now=now, user=user, refusal="the refund has already been sent to M-Pesa"
			)
		if note.correction_type == PAYMENT_REVERSAL:
			_lock_transaction(db, note.transaction)
		refuse_negative_balances(lines, locked)
		entries = post_voucher(
			db,
			voucher_type=CREDIT_NOTE_DOCTYPE,
			voucher_no=name,
			lines=lines,
			posting_datetime=now,
			locked=locked,
			target_kes_by_driver=driver_targets(locked, settings),
			is_reversal=True,
			remarks=f"On cancellation of {name}",
			user=user,
			on_step=step,
		)
		payable_kes = -to_kes(row.get("payable_kes"))
		if note.correction_type == PAYMENT_REVERSAL:
			if payable_kes > 0:
				payout = queue_payout(
					db,
					driver=note.driver,
					amount_kes=payable_kes,
					transaction=note.transaction,
					now=now,
					user=user,
				)
			reversed_kes = -to_kes(row.get("target_kes")) + to_kes(row.get("revenue_kes")) + payable_kes
			reversed_kes -= to_kes(row.get("deposit_kes"))
			_update_transaction(db, note.transaction, -reversed_kes, now=now, user=user)
		db.sql(
			f"update `tab{CREDIT_NOTE_DOCTYPE}` set cancelled_at = %s where name = %s",
			(now, name),
		)
		step("document_updated")
	return CreditNotePosting(
		name,
		entries,
		-to_kes(row.get("target_kes")),
		-to_kes(row.get("deposit_kes")),
		-to_kes(row.get("payable_kes")),
		-to_kes(row.get("revenue_kes")),
		payout,
		cancelled,
	)


def _insert_row(db: Database, note: CreditNote, *, now: datetime, user: str) -> None:
	values = (
		note.correction_type,
		note.driver,
		note.amount_kes,
		note.transaction,
		note.refund_mode,
		note.driver_account,
		note.direction,
		note.counter_account,
		note.reason_code,
		note.remarks,
	)
	standard = standard_values(note.name, now, user)
	db.sql(
		insert_statement(CREDIT_NOTE_DOCTYPE, _CREDIT_NOTE_COLUMNS),
		(*standard[:5], 1, *standard[6:], *values),  # docstatus 1: submitted
	)


def _lock_driver(db: Database, driver: str) -> LockedDrivers:
	locked = lock_drivers(db, [driver])
	if driver not in locked:
		raise NotFound(f"Driver {driver} does not exist.")
	return locked


def _plan(db: Database, note: CreditNote, locked: LockedDrivers, settings: LedgerSettings) -> Plan:
	driver, amount_kes = note.driver, note.amount_kes
	row = locked[driver]
	target_kes = effective_target_kes(
		row.daily_target_kes, settings.global_daily_target_kes, row.target_rollover_kes
	)
	owed_kes = max(0, target_kes - row.current_balance_kes)
	if note.correction_type == TARGET_WAIVER:
		if amount_kes > owed_kes:
			raise CorrectionRefused(
				f"Driver {driver} owes {owed_kes} KES toward today's target ({target_kes} KES); "
				f"a waiver of {amount_kes} KES is more than that."
			)
		lines = [
			PostingLine(accounts.REVENUE, debit_kes=amount_kes),
			PostingLine(accounts.TARGET, credit_kes=amount_kes, party=driver),
		]
		return Plan(lines, target_kes=amount_kes)
	if note.correction_type == DEPOSIT_REFUND:
		if amount_kes > row.current_deposit_balance_kes:
			raise CorrectionRefused(
				f"Driver {driver}'s deposit is {row.current_deposit_balance_kes} KES; "
				f"a refund of {amount_kes} KES is more than that."
			)
		if note.refund_mode == SETTLE_SHORTFALL:
			if amount_kes > owed_kes:
				raise CorrectionRefused(
					f"Driver {driver} owes {owed_kes} KES toward today's target; settling {amount_kes} KES "
					"from the deposit is more than that."
				)
			lines = [
				PostingLine(accounts.DEPOSIT, debit_kes=amount_kes, party=driver),
				PostingLine(accounts.TARGET, credit_kes=amount_kes, party=driver),
			]
			return Plan(lines, target_kes=amount_kes, deposit_kes=-amount_kes)
		lines = [
			PostingLine(accounts.DEPOSIT, debit_kes=amount_kes, party=driver),
			PostingLine(accounts.PAYABLE, credit_kes=amount_kes, party=driver),
		]
		return Plan(lines, deposit_kes=-amount_kes, payable_kes=amount_kes, payout_kes=amount_kes)
	if note.correction_type == BALANCE_ADJUSTMENT:
		account = note.driver_account
		if note.direction == INCREASE:
			lines = [
				PostingLine(note.counter_account, debit_kes=amount_kes),
				PostingLine(account, credit_kes=amount_kes, party=driver),
			]
			signed_kes = amount_kes
		else:
			lines = [
				PostingLine(account, debit_kes=amount_kes, party=driver),
				PostingLine(note.counter_account, credit_kes=amount_kes),
			]
			signed_kes = -amount_kes
		refuse_negative_balances(lines, locked)
		return Plan(
			lines,
			target_kes=signed_kes if account == accounts.TARGET else 0,
			deposit_kes=signed_kes if account == accounts.DEPOSIT else 0,
			payable_kes=signed_kes if account == accounts.PAYABLE else 0,
		)
	return _plan_payment_reversal(db, note, locked)


def _plan_payment_reversal(db: Database, note: CreditNote, locked: LockedDrivers) -> Plan:
	driver, amount_kes = note.driver, note.amount_kes
	row = locked[driver]
	payment = _lock_transaction(db, note.transaction)
	if payment["payment_status"] not in REVERSIBLE_PAYMENT_STATUSES:
		raise CorrectionRefused(
			f"Transaction {note.transaction} is {payment['payment_status']}; only a completed or allocated "
			"payment can be reversed."
		)
	if payment["driver"] != driver:
		raise CorrectionRefused(
			f"Transaction {note.transaction} was paid to driver {payment['driver']}, not {driver}."
		)
	done = db.sql(
		f"""select coalesce(sum(-target_kes + revenue_kes), 0), coalesce(sum(-payable_kes), 0),
			coalesce(sum(-deposit_kes), 0)
		from `tab{CREDIT_NOTE_DOCTYPE}`
		where transaction = %s and correction_type = %s and docstatus = 1 and name <> %s""",
		(note.transaction, PAYMENT_REVERSAL, note.name),
	)[0]
	left_target_kes = to_kes(payment["target_contribution"]) - to_kes(done[0])
	left_payable_kes = to_kes(payment["driver_share"]) - to_kes(done[1])
	left_deposit_kes = to_kes(payment["deposit_contribution"]) - to_kes(done[2])
	left_kes = left_target_kes + left_payable_kes + left_deposit_kes
	assert min(left_target_kes, left_payable_kes, left_deposit_kes) >= 0, (note.transaction, done)
	if amount_kes > left_kes:
		raise CorrectionRefused(
			f"Only {left_kes} KES is left of payment {note.transaction} ({to_kes(payment['amount'])} KES); "
			f"{amount_kes} KES cannot be reversed."
		)
	unpaid = db.sql(
		f"""select name, amount from `tab{PAYOUT_DOCTYPE}`
		where transaction = %s and status in %s order by name for update""",
		(note.transaction, UNPAID_PAYOUT_STATUSES),
	)
	unpaid_kes = sum(to_kes(amount) for _, amount in unpaid)
	take_target_kes = min(amount_kes, left_target_kes)
	take_payable_kes = min(amount_kes - take_target_kes, left_payable_kes, unpaid_kes, row.payout_pending_kes)
	take_deposit_kes = amount_kes - take_target_kes - take_payable_kes
	if take_deposit_kes > left_deposit_kes or take_deposit_kes > row.current_deposit_balance_kes:
		paid_kes = left_payable_kes - take_payable_kes
		raise CorrectionRefused(
			f"At most {take_target_kes + take_payable_kes + min(left_deposit_kes, row.current_deposit_balance_kes)}"
			f" KES of payment {note.transaction} can be reversed now: {paid_kes} KES of the driver's share "
			"has already been sent to M-Pesa (or the deposit it went to has been used)."
		)
	from_target_kes = min(take_target_kes, max(0, row.current_balance_kes))
	from_revenue_kes = take_target_kes - from_target_kes
	lines = [PostingLine(accounts.PAYBILL, credit_kes=amount_kes)]
	if from_target_kes:
		lines.append(PostingLine(accounts.TARGET, debit_kes=from_target_kes, party=driver))
	if from_revenue_kes:
		lines.append(PostingLine(accounts.REVENUE, debit_kes=from_revenue_kes))
	if take_payable_kes:
		lines.append(PostingLine(accounts.PAYABLE, debit_kes=take_payable_kes, party=driver))
	if take_deposit_kes:
		lines.append(PostingLine(accounts.DEPOSIT, debit_kes=take_deposit_kes, party=driver))
	refuse_negative_balances(lines, locked)
	plan = Plan(
		lines,
		target_kes=-from_target_kes,
		deposit_kes=-take_deposit_kes,
		payable_kes=-take_payable_kes,
		revenue_kes=from_revenue_kes,
		transaction_reversed_kes=amount_kes,
	)
	if take_payable_kes:
		plan.payouts_to_cancel = [name for name, _ in unpaid]
		plan.payout_kes = unpaid_kes - take_payable_kes  # re-queued remainder of the unpaid share
	return plan


def _lock_transaction(db: Database, transaction: str | None) -> dict:
	rows = db.sql(
		"""select name, driver, amount, target_contribution, driver_share, deposit_contribution,
			payment_status, allocated_at, reversed_kes, pre_ledger
		from `tabTukTuk Transaction` where name = %s for update""",
		(transaction,),
		as_dict=True,
	)
	if not rows:
		raise NotFound(f"Transaction {transaction} does not exist.")
	if rows[0]["pre_ledger"]:
		raise CorrectionRefused(
			f"Transaction {transaction} was recorded by the app this one replaced and has no postings "
			"(its money is in the driver's opening balance); correct the balance with a manual journal."
		)
	return rows[0]


def _apply_payout_work(db: Database, note: CreditNote, plan: Plan, *, now: datetime, user: str) -> str | None:
	if plan.payouts_to_cancel:
		_cancel_unpaid_payouts(db, plan.payouts_to_cancel, now=now, user=user, refusal="")
	if not plan.payout_kes:
		return None
	transaction = note.transaction if note.correction_type == PAYMENT_REVERSAL else None
	return queue_payout(
		db, driver=note.driver, amount_kes=plan.payout_kes, transaction=transaction, now=now, user=user
	)


def _cancel_unpaid_payouts(
	db: Database, names: list[str], *, now: datetime, user: str, refusal: str
) -> list[str]:
	"""Mark Queued/Failed payouts Cancelled (their money stays payable and is posted by the caller).

	Refuses with ``refusal`` if any of them is already with M-Pesa (Sent, Unknown, Paid).
	"""
	placeholders = ", ".join(["%s"] * len(names))
	rows = db.sql(
		f"select name, status from `tab{PAYOUT_DOCTYPE}` where name in ({placeholders}) order by name for update",
		tuple(names),
	)
	for name, status in rows:
		if status not in UNPAID_PAYOUT_STATUSES and status != CANCELLED:
			raise CorrectionRefused(f"Payout {name} is {status}: {refusal or 'it cannot be cancelled'}.")
	to_cancel = [name for name, status in rows if status in UNPAID_PAYOUT_STATUSES]
	for name in to_cancel:
		db.sql(
			f"update `tab{PAYOUT_DOCTYPE}` set status = %s, modified = %s, modified_by = %s where name = %s",
			(CANCELLED, now, user, name),
		)
	return to_cancel


def _update_transaction(
	db: Database, transaction: str | None, reversed_delta_kes: int, *, now: datetime, user: str
) -> None:
	"""Move a payment's reversed total by ``reversed_delta_kes`` and set its payment status."""
	payment = _lock_transaction(db, transaction)
	reversed_kes = to_kes(payment["reversed_kes"]) + reversed_delta_kes
	amount_kes = to_kes(payment["amount"])
	assert 0 <= reversed_kes <= amount_kes, (transaction, reversed_kes, amount_kes)
	if reversed_kes == 0:
		status = "Allocated" if payment["allocated_at"] else "Completed"
	elif reversed_kes == amount_kes:
		status = "Reversed"
	else:
		status = "Partly Reversed"
	db.sql(
		"""update `tabTukTuk Transaction` set reversed_kes = %s, payment_status = %s, modified = %s,
		modified_by = %s where name = %s""",
		(reversed_kes, status, now, user, transaction),
	)
