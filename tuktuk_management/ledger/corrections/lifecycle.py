"""The credit-note lifecycle: submit (insert and post), post, cancel, reverse.

Each runs inside the caller's transaction under the driver's row lock, behind a savepoint,
and never commits. Planning is delegated to :mod:`.planners` (one planner per correction type).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tuktuk_management.ledger.corrections.note import (
	CANCELLED,
	CREDIT_NOTE_COLUMNS,
	CREDIT_NOTE_DOCTYPE,
	DEPOSIT_REFUND,
	PAYMENT_REVERSAL,
	PAYOUT_DOCTYPE,
	UNPAID_PAYOUT_STATUSES,
	CreditNote,
	CreditNotePosting,
	Plan,
	check_fields,
)
from tuktuk_management.ledger.corrections.payment_reversal import lock_transaction, update_transaction
from tuktuk_management.ledger.corrections.planners import plan_locked
from tuktuk_management.ledger.database import Database, in_savepoint
from tuktuk_management.ledger.drivers import LockedDrivers, lock_drivers
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.payouts.state import queue_payout
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
from tuktuk_management.ledger.writer import post_voucher

SAVEPOINT = "tuktuk_credit_note"


def plan_credit_note(db: Database, note: CreditNote, *, settings: LedgerSettings) -> Plan:
	"""Check ``note`` against current balances and return what it would post (nothing written).

	Locks the driver row (and, for a payment reversal, the transaction and its unpaid payouts)
	``FOR UPDATE`` so the answer holds until the caller's transaction ends. Raises
	:class:`CorrectionRefused` with a manager-readable reason.
	"""
	check_fields(note)
	locked = _lock_driver(db, note.driver)
	return plan_locked(db, note, locked, settings)


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
		plan = plan_locked(db, note, locked, settings)
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
			update_transaction(db, note.transaction, plan.transaction_reversed_kes, now=now, user=user)
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
			lock_transaction(db, note.transaction)
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
		if note.correction_type == PAYMENT_REVERSAL:
			payout = _undo_payment_reversal(db, note, row, now=now, user=user)
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


def _undo_payment_reversal(
	db: Database, note: CreditNote, row: dict, *, now: datetime, user: str
) -> str | None:
	"""After a payment reversal's lines are reversed: re-queue its payable part as a payout and
	take the reversed amount off the payment's reversed total. Returns the new payout, if any."""
	payable_kes = -to_kes(row.get("payable_kes"))
	payout = None
	if payable_kes > 0:
		payout = queue_payout(
			db, driver=note.driver, amount_kes=payable_kes, transaction=note.transaction, now=now, user=user
		)
	reversed_kes = -to_kes(row.get("target_kes")) + to_kes(row.get("revenue_kes")) + payable_kes
	reversed_kes -= to_kes(row.get("deposit_kes"))
	update_transaction(db, note.transaction, -reversed_kes, now=now, user=user)
	return payout


def _lock_driver(db: Database, driver: str) -> LockedDrivers:
	locked = lock_drivers(db, [driver])
	if driver not in locked:
		raise NotFound(f"Driver {driver} does not exist.")
	return locked


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


# The standalone path: the document is inserted or cancelled here, then posted or reversed, as
# one unit (under Frappe, the controller's on_submit/on_cancel call post/reverse instead).


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
		_insert_row(db, note, now=now, user=user, on_step=on_step)
		return post_credit_note(db, note, settings=settings, now=now, user=user, on_step=on_step)


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
		_mark_cancelled(db, name, now=now, user=user, on_step=on_step)
		return reverse_credit_note(db, name, settings=settings, now=now, user=user, on_step=on_step)


def _insert_row(
	db: Database, note: CreditNote, *, now: datetime, user: str, on_step: Callable[[str], None] | None
) -> None:
	"""Insert the credit note row as submitted (docstatus 1; step "document_inserted")."""
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
		insert_statement(CREDIT_NOTE_DOCTYPE, CREDIT_NOTE_COLUMNS),
		(*standard[:5], 1, *standard[6:], *values),  # docstatus 1: submitted
	)
	if on_step:
		on_step("document_inserted")


def _mark_cancelled(
	db: Database, name: str, *, now: datetime, user: str, on_step: Callable[[str], None] | None
) -> None:
	"""Lock a submitted credit note and set docstatus 2 (step "document_cancelled"); refused
	unless it is submitted."""
	rows = db.sql(f"select docstatus from `tab{CREDIT_NOTE_DOCTYPE}` where name = %s for update", (name,))
	if not rows:
		raise NotFound(f"Credit note {name} does not exist.")
	if rows[0][0] != 1:
		raise CorrectionRefused(f"Credit note {name} is not submitted; only a submitted one is cancelled.")
	db.sql(
		f"update `tab{CREDIT_NOTE_DOCTYPE}` set docstatus = 2, modified = %s, modified_by = %s "
		"where name = %s",
		(now, user, name),
	)
	if on_step:
		on_step("document_cancelled")
