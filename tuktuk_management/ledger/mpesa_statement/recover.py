"""Recovery from the statement, never twice (DESIGN §9).

**A missed paybill payment** (a Payment line Not in Books) is applied through the C2B
confirmation path itself: a confirmation body is built from the line (``TransID`` = receipt,
``TransAmount``, ``BillRefNumber`` = A/C No., ``TransTime`` = completion time, the configured
paybill), stored raw as a TukTuk Callback Log (source ``statement:<line>``) and applied by
:func:`~tuktuk_management.ledger.callback_log.process_logged_confirmation`: idempotent on
``TransID``, routed by the account number, split under the driver's row lock. Three units of
work per line, each committed by the caller's ``commit``:

1. claim: ``recovery_log`` of the line is set by one conditional UPDATE and the log is stored,
   committed together: one log per line, whoever runs the recovery and however often;
2. apply the log and mark the line recovered (retried on deadlock); on an error the log is marked
   Failed and the scheduled callback retry job applies it later, like any stored confirmation;
3. a re-run finds the line claimed: it applies the log if it still waits, else changes nothing.

**A payout the statement proves paid** (Payout Unsettled) is settled through the payout
lifecycle: the payout row is locked and, still Sent, Unknown or Failed, marked Paid with the
statement's receipt by :func:`~tuktuk_management.ledger.payouts.mark_paid` (payable -> b2c).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from tuktuk_management.daraja import models
from tuktuk_management.ledger import payouts
from tuktuk_management.ledger.callback_log import (
	C2B_CONFIRMATION,
	apply_logged,
	process_logged_confirmation,
	store_callback,
)
from tuktuk_management.ledger.database import Database, affected_rows, run_with_retry
from tuktuk_management.ledger.mpesa_statement.match import (
	MATCHED,
	NOT_IN_BOOKS,
	PAYOUT_UNSETTLED,
	RECOVERED_NOTE,
)
from tuktuk_management.ledger.mpesa_statement.parse import PAYMENT
from tuktuk_management.ledger.mpesa_statement.store import LINE_DOCTYPE, decimal_kes
from tuktuk_management.ledger.rows import sql_datetime
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.status import LogStatus

SOURCE_PREFIX = "statement:"
RECOVERY_BATCH_MAX = 500
WAITING_LOG_STATUSES = ("Received", "Failed")
STATEMENT_RESULT_CODE = "STATEMENT"
IN_PROGRESS = "In Progress"  # another process is applying the line's recovery
APPLIED_STATUSES = (LogStatus.PROCESSED, LogStatus.UNALLOCATED)  # a confirmation that wrote the payment


class RecoveryRefused(ValueError):
	"""The line cannot be recovered (not a missed paybill payment, not whole shillings ...)."""


@dataclass(frozen=True)
class Recovery:
	"""What one recovery did: ``status`` is the callback log status (Processed, Unallocated,
	Duplicate, Conflict, Failed ...) or, for a payout, Paid / the reason it was left alone."""

	line: str
	receipt_no: str
	amount_kes: int
	status: str
	transaction: str | None = None
	payout: str | None = None
	driver: str | None = None
	applied: bool = False  # this call changed the books
	queued_payout: str | None = None  # the payout the recovered payment queued (send after commit)

	def as_dict(self) -> dict:
		return asdict(self)


def confirmation_body(
	*, receipt_no: str, amount_kes: int, account_no: str, completion_time: datetime, paybill: str
) -> dict:
	"""The C2B confirmation body (Daraja shape) a statement line stands for."""
	return models.c2b_body(
		trans_id=receipt_no,
		trans_time=completion_time.strftime("%Y%m%d%H%M%S"),
		amount=str(amount_kes),
		account=account_no,
		shortcode=paybill,
		msisdn="",
		first_name="",
	)


def proposed_lines(
	db: Database, *, names: list[str] | None = None, limit: int = RECOVERY_BATCH_MAX
) -> list[str]:
	"""Payment lines matched Not in Books and not yet recovered, oldest first (or ``names``
	among them)."""
	where = "line_type = %s and match_status = %s and recovered = 0"
	values: list = [PAYMENT, NOT_IN_BOOKS]
	if names is not None:
		if not names:
			return []
		where += f" and name in ({', '.join(['%s'] * len(names))})"
		values += names
	rows = db.sql(
		f"select name from `tab{LINE_DOCTYPE}` where {where} order by completion_time, name limit %s",
		(*values, limit),
	)
	return [name for (name,) in rows]


@dataclass(frozen=True)
class _MissedPayment:
	"""A Payment line to recover, read and checked: the confirmation body it stands for."""

	line: str
	receipt_no: str
	amount_kes: int
	recovered: bool
	transaction: str | None
	body: str


def _missed_payment(db: Database, line: str, settings: LedgerSettings) -> _MissedPayment:
	"""Read and check the line; :class:`RecoveryRefused` unless it is a whole-shilling payment."""
	rows = db.sql(
		f"""select receipt_no, line_type, paid_in, account_no, completion_time, recovered,
		`transaction` from `tab{LINE_DOCTYPE}` where name = %s""",
		(line,),
	)
	if not rows:
		raise RecoveryRefused(f"no statement line {line}")
	receipt_no, line_type, paid_in, account_no, completion_time, recovered, transaction = rows[0]
	amount = decimal_kes(paid_in)
	if line_type != PAYMENT or amount <= 0:
		raise RecoveryRefused(f"line {line} is not a paybill payment")
	if amount != amount.to_integral_value():
		raise RecoveryRefused(f"line {line}: {amount} is not whole shillings")
	if not settings.mpesa_paybill:
		raise RecoveryRefused("set the paybill number (TukTuk Settings mpesa_paybill) first")
	body = confirmation_body(
		receipt_no=receipt_no,
		amount_kes=int(amount),
		account_no=account_no or "",
		completion_time=completion_time,
		paybill=settings.mpesa_paybill,
	)
	return _MissedPayment(line, receipt_no, int(amount), bool(recovered), transaction, json.dumps(body))


def recover_payment(
	db: Database,
	line: str,
	*,
	settings: LedgerSettings,
	clock: Callable[[], datetime],
	commit: Callable[[], None],
	rollback: Callable[[], None],
	user: str,
) -> Recovery:
	"""Recover one missed paybill payment from its statement line (see the module docstring).

	Commits through ``commit`` (between the units of work); raises :class:`RecoveryRefused` for a
	line that is not a Payment or not whole shillings (nothing written)."""
	missed = _missed_payment(db, line, settings)
	if missed.recovered:
		return Recovery(
			line, missed.receipt_no, missed.amount_kes, "Recovered", transaction=missed.transaction
		)
	log = _claim(db, line, missed.body, now=clock(), user=user)
	body = missed.body
	if log is not None:
		commit()  # unit-of-work boundary: the claim and the stored body
	else:  # claimed by an earlier or concurrent recovery
		rollback()  # drop the log this lost claim stored
		log, waiting = _claimed_log(db, line, rollback)
		if waiting is None:
			return Recovery(line, missed.receipt_no, missed.amount_kes, IN_PROGRESS)
		status, body = waiting
		if status not in WAITING_LOG_STATUSES:
			return Recovery(line, missed.receipt_no, missed.amount_kes, status)
	return _apply_log(
		db, missed, log, body, settings=settings, clock=clock, commit=commit, rollback=rollback, user=user
	)


def _claimed_log(db: Database, line: str, rollback: Callable[[], None]) -> tuple[str, tuple | None]:
	"""The line's recovery log and ``(status, raw_body)``, or None while another process holds
	it. SKIP LOCKED: a log another process is applying right now is its business (its claim is
	row-locked until it commits); a waiting log nobody holds (its claimer crashed) is ours."""
	log = db.sql(f"select recovery_log from `tab{LINE_DOCTYPE}` where name = %s", (line,))[0][0]
	found = db.sql(
		"select status, raw_body from `tabTukTuk Callback Log` where name = %s for update skip locked",
		(log,),
	)
	rollback()  # end the read snapshot and the lock
	return log, (tuple(found[0]) if found else None)


def _apply_log(
	db: Database,
	missed: _MissedPayment,
	log: str,
	body: str,
	*,
	settings: LedgerSettings,
	clock: Callable[[], datetime],
	commit: Callable[[], None],
	rollback: Callable[[], None],
	user: str,
) -> Recovery:
	"""Apply the stored confirmation through the callback log and mark the line recovered, in one
	unit of work through :func:`~tuktuk_management.ledger.callback_log.apply_logged`."""

	def apply():
		outcome = process_logged_confirmation(db, log, body, settings=settings, now=clock())
		if outcome.status in APPLIED_STATUSES and not outcome.already_handled:
			at = sql_datetime(clock())
			db.sql(
				f"""update `tab{LINE_DOCTYPE}` set recovered = 1, recovered_at = %s, recovered_by = %s,
				`transaction` = %s, match_status = %s, match_note = %s, matched_at = %s, modified = %s
				where name = %s""",
				(at, user, outcome.transaction, MATCHED, RECOVERED_NOTE, at, at, missed.line),
			)
		return outcome

	# The stored-callback routine of every endpoint: retried on deadlock, committed; on another
	# error the log is marked Failed (committed) and the scheduled job applies it later.
	logged = apply_logged(db, log, apply, now=clock())
	outcome = logged.outcome
	if outcome is None:
		return Recovery(missed.line, missed.receipt_no, missed.amount_kes, logged.status)
	applied = not outcome.already_handled and outcome.status in APPLIED_STATUSES
	return Recovery(
		missed.line,
		missed.receipt_no,
		missed.amount_kes,
		outcome.status,
		transaction=outcome.transaction,
		driver=outcome.driver,
		applied=applied,
		queued_payout=outcome.payout if applied else None,
	)


def _claim(db: Database, line: str, body: str, *, now: datetime, user: str) -> str | None:
	"""Store the recovery's callback log and link it from the line, or None (nothing kept) if the
	line already has one. One conditional UPDATE decides; its row lock makes a concurrent claim
	wait and then find the line taken."""
	log = store_callback(
		db,
		endpoint=C2B_CONFIRMATION,
		raw_body=body,
		received_at=now,
		source_ip=f"{SOURCE_PREFIX}{line}",
		user=user,
	)
	db.sql(
		f"""update `tab{LINE_DOCTYPE}` set recovery_log = %s, modified = %s
		where name = %s and (recovery_log is null or recovery_log = '') and recovered = 0""",
		(log, sql_datetime(now), line),
	)
	if not affected_rows(db):
		return None
	return log


def settle_payout(db: Database, line: str, *, now: datetime, user: str) -> Recovery:
	"""Settle the payout a Payout Unsettled line proves paid: lock the payout, and if it is still
	Sent, Unknown or Failed, mark it Paid with the line's receipt (payable -> b2c) and the line
	Matched. In the caller's transaction (the caller commits; retry deadlocks around it)."""
	rows = db.sql(
		f"""select receipt_no, match_status, payout, withdrawn from `tab{LINE_DOCTYPE}`
		where name = %s for update""",
		(line,),
	)
	if not rows:
		raise RecoveryRefused(f"no statement line {line}")
	receipt_no, match_status, payout_name, withdrawn = rows[0]
	amount = decimal_kes(withdrawn)
	if match_status != PAYOUT_UNSETTLED or not payout_name:
		raise RecoveryRefused(f"line {line} is {match_status}, not a payout to settle")
	row = payouts.read_payout(db, payout_name, for_update=True)
	assert row is not None, payout_name
	if row.status == payouts.PAID:
		reason = "already Paid" if row.receipt == receipt_no else f"Paid with receipt {row.receipt}"
		return Recovery(line, receipt_no, int(amount), reason, payout=payout_name, driver=row.driver)
	if row.status not in (payouts.SENT, payouts.UNKNOWN, payouts.FAILED) or row.attempts == 0:
		raise RecoveryRefused(f"payout {payout_name} is {row.status}: the statement cannot settle it")
	if row.amount_kes != amount:
		raise RecoveryRefused(f"payout {payout_name} is {row.amount_kes} KES, the line {amount} KES")
	payouts.mark_paid(
		db,
		row,
		receipt=receipt_no,
		result_code=STATEMENT_RESULT_CODE,
		result_desc=f"paid per M-Pesa statement line {line} (was {row.status})",
		now=now,
		user=user,
	)
	at = sql_datetime(now)
	db.sql(
		f"""update `tab{LINE_DOCTYPE}` set match_status = 'Matched', match_note = %s, matched_at = %s,
		modified = %s where name = %s""",
		(f"payout {payout_name} settled from the statement (was {row.status})", at, at, line),
	)
	return Recovery(
		line, receipt_no, int(amount), payouts.PAID, payout=payout_name, driver=row.driver, applied=True
	)


def unsettled_lines(
	db: Database, *, names: list[str] | None = None, limit: int = RECOVERY_BATCH_MAX
) -> list[str]:
	where = "match_status = %s"
	values: list = [PAYOUT_UNSETTLED]
	if names is not None:
		if not names:
			return []
		where += f" and name in ({', '.join(['%s'] * len(names))})"
		values += names
	rows = db.sql(
		f"select name from `tab{LINE_DOCTYPE}` where {where} order by completion_time, name limit %s",
		(*values, limit),
	)
	return [name for (name,) in rows]


def recover_all(
	db: Database,
	*,
	settings: LedgerSettings,
	clock: Callable[[], datetime],
	commit: Callable[[], None],
	rollback: Callable[[], None],
	user: str,
	names: list[str] | None = None,
) -> list[Recovery]:
	"""Every proposed recovery once: missed payments, then payouts to settle (at most
	RECOVERY_BATCH_MAX of each per call); ``names`` limits it to those lines."""
	done: list[Recovery] = []
	payment_lines = proposed_lines(db, names=names)
	payout_lines = unsettled_lines(db, names=names)
	rollback()
	# Each run takes the lines in its own order: recoveries running at once then mostly claim
	# different lines instead of queueing behind each other on the same one.
	random.shuffle(payment_lines)
	for line in payment_lines:
		done.append(
			recover_payment(
				db, line, settings=settings, clock=clock, commit=commit, rollback=rollback, user=user
			)
		)
	for line in payout_lines:
		try:
			recovery = run_with_retry(
				lambda line=line: settle_payout(db, line, now=clock(), user=user), rollback=rollback
			)
		except RecoveryRefused as exc:
			rollback()
			done.append(Recovery(line, "", 0, f"refused: {exc}"))
			continue
		commit()
		done.append(recovery)
	return done
