"""Applying B2C result, B2C timeout and Transaction Status result callbacks to payouts.

A result is applied under the payout row lock, in the caller's transaction; the Paid posting
(payable → b2c) happens once: a repeated result changes nothing, and an existing ledger voucher
for the payout is asserted absent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tuktuk_management.daraja import b2c as daraja_b2c
from tuktuk_management.daraja.models import InvalidCallback
from tuktuk_management.ledger import accounts, doctypes
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import lock_drivers
from tuktuk_management.ledger.payouts.state import (
	BATCH_MAX,
	ERROR_CHARS_MAX,
	PayoutOutcome,
	PayoutRow,
	current_attempt,
	failure_values,
	read_payout,
	update_payout,
)
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.status import CallbackEndpoint, LogStatus, PayoutStatus
from tuktuk_management.ledger.writer import PostingLine, post_voucher

LOG_DOCTYPE = doctypes.CALLBACK_LOG
B2C_RESULT = CallbackEndpoint.B2C_RESULT
B2C_TIMEOUT = CallbackEndpoint.B2C_TIMEOUT


def _find_payout_for_result(
	db: Database, result: daraja_b2c.B2CResultBody
) -> tuple[str | None, int | None, bool]:
	"""``(payout, attempt, is_status_query)`` for a result body; payout None if not ours."""
	parsed = daraja_b2c.parse_originator_conversation_id(result.OriginatorConversationID)
	if parsed:
		return parsed[0], parsed[1], False
	if result.ConversationID:
		rows = db.sql(
			"select name from `tabTukTuk Payout` where status_conversation_id = %s limit 1",
			(result.ConversationID,),
		)
		if rows:
			return rows[0][0], None, True
		rows = db.sql(
			"select name from `tabTukTuk Payout` where conversation_id = %s limit 1", (result.ConversationID,)
		)
		if rows:
			return rows[0][0], None, False
	return None, None, False


def mark_paid(
	db: Database,
	row: PayoutRow,
	*,
	receipt: str,
	result_code: str,
	result_desc: str,
	now: datetime,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> None:
	"""Post payable → b2c for the payout and mark it Paid, in the caller's transaction.

	The payout row must be locked by the caller; the driver row is locked here (payout, then
	driver: the order every payout flow uses). Asserts no voucher exists yet for the payout.
	"""
	step = on_step or (lambda _name: None)
	existing = db.sql(
		"select count(*) from `tabTukTuk Ledger Entry` where voucher_type = %s and voucher_no = %s",
		(doctypes.PAYOUT, row.name),
	)[0][0]
	assert not existing, f"payout {row.name} already has ledger lines"
	locked = lock_drivers(db, [row.driver])
	step("driver_locked")
	post_voucher(
		db,
		voucher_type=doctypes.PAYOUT,
		voucher_no=row.name,
		lines=[
			PostingLine(accounts.PAYABLE, debit_kes=row.amount_kes, party=row.driver),
			PostingLine(accounts.B2C, credit_kes=row.amount_kes),
		],
		posting_datetime=now,
		locked=locked,
		remarks=f"B2C payout {row.name} receipt {receipt}",
		user=user,
		on_step=on_step,
	)
	update_payout(
		db,
		row.name,
		now,
		status=PayoutStatus.PAID,
		receipt=receipt[:140],
		result_code=result_code[:140],
		result_desc=result_desc[:ERROR_CHARS_MAX],
		finished_at=now,
		next_attempt_at=None,
		final_failure=0,
		last_error="",
	)
	step("payout_marked")


def apply_result(
	db: Database,
	body: bytes | str | dict,
	*,
	endpoint: str,
	now: datetime,
	settings: LedgerSettings,
	on_step: Callable[[str], None] | None = None,
) -> PayoutOutcome:
	"""Apply a B2C result, B2C timeout or Transaction Status result body (Daraja shape), in the
	caller's transaction; idempotent: a repeated body changes nothing (status Duplicate).

	endpoint: ``B2C Result`` or ``B2C Timeout``. Returns the callback log status in ``status``:
	Processed, Duplicate, Conflict (a second success for a Paid payout: nothing posted, alert)
	or Invalid (malformed, or no payout of ours). Database errors propagate (the caller rolls
	back and retries deadlocks).
	"""
	step = on_step or (lambda _name: None)
	try:
		result = daraja_b2c.parse_result(body)
	except InvalidCallback as exc:
		return PayoutOutcome(None, LogStatus.INVALID, reason=exc.reason)
	name, attempt, is_status = _find_payout_for_result(db, result)
	if name is None:
		return PayoutOutcome(
			None, LogStatus.INVALID, reason="no payout has this OriginatorConversationID/ConversationID"
		)
	row = read_payout(db, name, for_update=True)
	if row is None:
		return PayoutOutcome(name, LogStatus.INVALID, reason="no payout has this OriginatorConversationID")
	step("payout_locked")
	current = current_attempt(row)
	if endpoint == B2C_TIMEOUT:
		return _apply_timeout(db, row, attempt, current, now=now)
	if is_status:
		return _apply_status_result(db, row, result, now=now, settings=settings, on_step=on_step)
	if result.succeeded:
		return _apply_success(db, row, result, now=now, on_step=on_step)
	# A failure result.
	if attempt is not None and attempt < current:
		return PayoutOutcome(
			name, LogStatus.DUPLICATE, reason="failure of an earlier attempt", driver=row.driver
		)
	if row.status not in PayoutStatus.IN_FLIGHT and row.status != PayoutStatus.QUEUED:
		return PayoutOutcome(
			name, LogStatus.DUPLICATE, reason=f"payout is already {row.status}", driver=row.driver
		)
	update_payout(db, name, now, **failure_values(row, result.ResultCode, result.ResultDesc, now, settings))
	step("payout_marked")
	return PayoutOutcome(name, LogStatus.PROCESSED, changed=True, reason="failed", driver=row.driver)


def _apply_timeout(
	db: Database, row: PayoutRow, attempt: int | None, current: int, *, now: datetime
) -> PayoutOutcome:
	"""A B2C Timeout for the current attempt of an in-flight payout: Unknown again, to be
	resolved by Transaction Status; anything else is a Duplicate."""
	if row.status in PayoutStatus.IN_FLIGHT and (attempt is None or attempt == current):
		update_payout(
			db,
			row.name,
			now,
			status=PayoutStatus.UNKNOWN,
			status_checked_at=None,
			last_error="Daraja queue timeout (B2C Timeout)",
		)
		return PayoutOutcome(
			row.name, LogStatus.PROCESSED, changed=True, reason="timed out: resolved by Transaction Status"
		)
	return PayoutOutcome(row.name, LogStatus.DUPLICATE, reason=f"payout is {row.status}")


def _apply_success(
	db: Database,
	row: PayoutRow,
	result: daraja_b2c.B2CResultBody,
	*,
	now: datetime,
	on_step: Callable[[str], None] | None,
) -> PayoutOutcome:
	"""A success result: Paid once (a repeat with the same receipt is a Duplicate, another
	receipt for a Paid payout or a success for a payout never sent is a Conflict)."""
	name = row.name
	if row.status == PayoutStatus.PAID:
		if row.receipt == result.receipt:
			return PayoutOutcome(name, LogStatus.DUPLICATE, reason="already Paid", driver=row.driver)
		return PayoutOutcome(
			name,
			LogStatus.CONFLICT,
			reason=f"a second success (receipt {result.receipt}) for a Paid payout",
			driver=row.driver,
		)
	if row.attempts == 0:
		# Never sent (a request is always claimed first): no money can have moved for it.
		return PayoutOutcome(
			name, LogStatus.CONFLICT, reason="success result for a payout never sent; not applied"
		)
	note = "" if row.status in PayoutStatus.IN_FLIGHT else f" (payout was {row.status}: money moved anyway)"
	mark_paid(
		db,
		row,
		receipt=result.receipt,
		result_code=result.ResultCode,
		result_desc=result.ResultDesc + note,
		now=now,
		on_step=on_step,
	)
	return PayoutOutcome(name, LogStatus.PROCESSED, changed=True, reason=note.strip(), driver=row.driver)


def _apply_status_result(
	db: Database,
	row: PayoutRow,
	result: daraja_b2c.B2CResultBody,
	*,
	now: datetime,
	settings: LedgerSettings,
	on_step: Callable[[str], None] | None,
) -> PayoutOutcome:
	"""A Transaction Status answer: Completed → Paid; another final status → Failed; a query
	that failed (non-zero ResultCode) proves nothing: the error is noted, the status kept."""
	if row.status not in PayoutStatus.IN_FLIGHT:
		return PayoutOutcome(
			row.name, LogStatus.DUPLICATE, reason=f"payout is already {row.status}", driver=row.driver
		)
	if not result.succeeded:
		update_payout(
			db,
			row.name,
			now,
			last_error=f"status query: {result.ResultCode} {result.ResultDesc}"[:ERROR_CHARS_MAX],
		)
		return PayoutOutcome(
			row.name, LogStatus.PROCESSED, changed=True, reason="status query inconclusive", driver=row.driver
		)
	status = result.transaction_status.lower()
	if status == "completed":
		mark_paid(
			db,
			row,
			receipt=result.receipt,
			result_code=result.ResultCode,
			result_desc=f"Transaction Status: {result.transaction_status}",
			now=now,
			on_step=on_step,
		)
		return PayoutOutcome(
			row.name, LogStatus.PROCESSED, changed=True, reason="paid (Transaction Status)", driver=row.driver
		)
	if status in ("failed", "cancelled", "declined", "expired", "reversed"):
		values = failure_values(row, f"STATUS-{result.transaction_status}", result.ResultDesc, now, settings)
		update_payout(db, row.name, now, **values)
		return PayoutOutcome(
			row.name,
			LogStatus.PROCESSED,
			changed=True,
			reason="failed (Transaction Status)",
			driver=row.driver,
		)
	update_payout(
		db, row.name, now, last_error=f"status query: transaction {result.transaction_status or 'pending'}"
	)
	return PayoutOutcome(
		row.name, LogStatus.PROCESSED, changed=True, reason="still pending at Daraja", driver=row.driver
	)


def process_logged_result(
	db: Database,
	log: str,
	raw_body: bytes | str,
	*,
	endpoint: str,
	now: datetime,
	settings: LedgerSettings,
	on_step: Callable[[str], None] | None = None,
) -> PayoutOutcome:
	"""Apply a stored result/timeout body and mark its TukTuk Callback Log, in the caller's
	transaction. The log row is locked first and left alone unless still Received or Failed."""
	rows = db.sql("select status from `tabTukTuk Callback Log` where name = %s for update", (log,))
	assert rows, f"callback log {log} does not exist"
	if rows[0][0] not in LogStatus.WAITING:
		return PayoutOutcome(None, rows[0][0], reason="already handled")
	outcome = apply_result(db, raw_body, endpoint=endpoint, now=now, settings=settings, on_step=on_step)
	db.sql(
		"""update `tabTukTuk Callback Log` set status = %s, error = %s, processed_at = %s, modified = %s,
		attempts = attempts + 1, trans_id = %s where name = %s""",
		(outcome.status, outcome.reason[:ERROR_CHARS_MAX], now, now, (outcome.payout or "")[:140], log),
	)
	return outcome


def pending_result_logs(
	db: Database, *, attempts_max: int = 5, limit: int = BATCH_MAX
) -> list[tuple[str, str, str]]:
	"""Stored result/timeout bodies still to apply (Received, or Failed with attempts left):
	``(log, endpoint, raw_body)``, oldest first, at most ``limit``."""
	assert 0 < limit <= BATCH_MAX
	rows = db.sql(
		"""select name, endpoint, raw_body from `tabTukTuk Callback Log`
		where endpoint in (%s, %s) and status in (%s, %s) and attempts < %s
		order by received_at, name limit %s""",
		(B2C_RESULT, B2C_TIMEOUT, *LogStatus.WAITING, attempts_max, limit),
	)
	return [(name, endpoint, raw_body) for name, endpoint, raw_body in rows]
