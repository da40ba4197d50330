"""TukTuk Payout state: the row and its statuses, reading and writing it, queueing and cancelling.

The lifecycle and why a driver is never paid twice are described in the package docstring
(:mod:`tuktuk_management.ledger.payouts`). Every function here runs inside the caller's
transaction and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tuktuk_management.daraja import b2c as daraja_b2c
from tuktuk_management.ledger import doctypes
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.rows import insert_statement, new_name, sql_datetime, standard_values
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.status import PayoutStatus

QUEUED = PayoutStatus.QUEUED
SENT = PayoutStatus.SENT
PAID = PayoutStatus.PAID
FAILED = PayoutStatus.FAILED
UNKNOWN = PayoutStatus.UNKNOWN
CANCELLED = PayoutStatus.CANCELLED
IN_FLIGHT = PayoutStatus.IN_FLIGHT
FINISHED = PayoutStatus.FINISHED

PAYOUT_DOCTYPE = doctypes.PAYOUT

STUCK_AFTER = timedelta(hours=1)  # Sent/Unknown longer than this: alert
QUEUED_LEFT_AFTER = timedelta(minutes=2)  # Queued longer than this: the after-commit job was lost
UNKNOWN_RESOLVE_AFTER = timedelta(minutes=5)  # let a late reply or result arrive first
SENT_QUERY_AFTER = timedelta(minutes=30)  # Sent without a result this long: ask Transaction Status
STATUS_QUERY_INTERVAL = timedelta(minutes=10)  # at most one status query per payout per interval
RESOLVE_ATTEMPTS_MAX = 12  # automatic status queries + same-id resends per attempt; then a human
BACKOFF_CAP = timedelta(hours=24)
BATCH_MAX = 100
ATTEMPTS_HARD_MAX = 20
ERROR_CHARS_MAX = 1_000
LOCAL_MSISDN_CODE = "LOCAL-MSISDN"

_COLUMNS = (
	"name",
	"driver",
	"amount",
	"status",
	"originator_conversation_id",
	"conversation_id",
	"receipt",
	"result_code",
	"attempts",
	"final_failure",
	"status_conversation_id",
	"status_checked_at",
	"last_attempt_at",
	"resolve_attempts",
)
_QUEUE_COLUMNS = (
	"driver",
	"amount",
	"status",
	"transaction",
	"originator_conversation_id",
	"queued_at",
	"attempts",
)
_INSERT_PAYOUT = insert_statement(PAYOUT_DOCTYPE, _QUEUE_COLUMNS)


class PayoutStateError(ValueError):
	"""A manager action the payout's status does not allow; the message says why."""


@dataclass
class PayoutRow:
	"""A TukTuk Payout row; amounts in whole KES."""

	name: str
	driver: str
	amount_kes: int
	status: str
	originator_conversation_id: str
	conversation_id: str
	receipt: str
	result_code: str
	attempts: int
	final_failure: bool
	status_conversation_id: str
	status_checked_at: datetime | None
	last_attempt_at: datetime | None
	resolve_attempts: int = 0


@dataclass(frozen=True)
class PayoutOutcome:
	"""What one step did: ``status`` is the payout's status after it (or a callback log status
	for results), ``changed`` whether anything was written, ``reason`` a short explanation."""

	payout: str | None
	status: str
	changed: bool = False
	reason: str = ""
	driver: str | None = None


def read_payout(db: Database, name: str, *, for_update: bool = False) -> PayoutRow | None:
	"""The payout row (``FOR UPDATE`` when asked), or None."""
	rows = db.sql(
		f"select {', '.join(_COLUMNS)} from `tabTukTuk Payout` where name = %s"
		+ (" for update" if for_update else ""),
		(name,),
	)
	if not rows:
		return None
	values = dict(zip(_COLUMNS, rows[0], strict=True))
	return PayoutRow(
		name=values["name"],
		driver=values["driver"],
		amount_kes=to_kes(values["amount"]),
		status=values["status"] or QUEUED,
		originator_conversation_id=values["originator_conversation_id"] or "",
		conversation_id=values["conversation_id"] or "",
		receipt=values["receipt"] or "",
		result_code=values["result_code"] or "",
		attempts=int(values["attempts"] or 0),
		final_failure=bool(values["final_failure"]),
		status_conversation_id=values["status_conversation_id"] or "",
		status_checked_at=values["status_checked_at"],
		last_attempt_at=values["last_attempt_at"],
		resolve_attempts=int(values["resolve_attempts"] or 0),
	)


def update_payout(db: Database, name: str, now: datetime, **values) -> None:
	"""Set ``values`` (column → value) and ``modified`` on payout ``name`` (the caller holds its lock)."""
	assert values
	assignments = ", ".join(f"`{column}` = %s" for column in values)
	db.sql(
		f"update `tabTukTuk Payout` set {assignments}, modified = %s where name = %s",
		(*values.values(), now, name),
	)


def attempts_max(settings: LedgerSettings) -> int:
	"""Automatic sends a payout gets: TukTuk Settings ``payout_max_attempts``, 1..ATTEMPTS_HARD_MAX."""
	return min(ATTEMPTS_HARD_MAX, max(1, settings.payout_max_attempts))


def current_attempt(row: PayoutRow) -> int:
	parsed = daraja_b2c.parse_originator_conversation_id(row.originator_conversation_id)
	return parsed[1] if parsed else 1


def retry_delay(attempts: int, settings: LedgerSettings) -> timedelta:
	"""Backoff before the next automatic retry after ``attempts`` sends: base × 2^(attempts−1), capped."""
	base = timedelta(minutes=max(1, settings.payout_retry_backoff_minutes))
	return min(BACKOFF_CAP, base * 2 ** max(0, min(attempts, 16) - 1))


def failure_values(
	row: PayoutRow, code: str, description: str, now: datetime, settings: LedgerSettings
) -> dict:
	"""The columns of a Failed payout: the code, whether it is final, and when to retry it."""
	final = code in daraja_b2c.FINAL_RESULT_CODES
	automatic = not final and row.attempts < attempts_max(settings)
	return {
		"status": FAILED,
		"result_code": code[:140],
		"result_desc": description[:ERROR_CHARS_MAX],
		"final_failure": 1 if final else 0,
		"next_attempt_at": now + retry_delay(row.attempts, settings) if automatic else None,
		"finished_at": now,
		"last_error": "" if automatic else ("final result code" if final else "attempts exhausted"),
	}


def queue_payout(
	db: Database, *, driver: str, amount_kes: int, transaction: str | None, now: datetime, user: str
) -> str:
	"""Insert a Queued TukTuk Payout of ``amount_kes`` (whole KES > 0) for ``driver``; its name.

	transaction: the TukTuk Transaction it pays the share of (None for a deposit refund). The
	``OriginatorConversationID`` is ``TTK-<payout name>``, the idempotency key at Daraja.
	"""
	assert amount_kes > 0, amount_kes
	payout = new_name()
	queued_at = sql_datetime(now)
	db.sql(
		_INSERT_PAYOUT,
		(
			*standard_values(payout, queued_at, user),
			driver,
			amount_kes,
			QUEUED,
			transaction,
			f"TTK-{payout}",
			queued_at,
			0,
		),
	)
	return payout


def cancel_payout(db: Database, name: str, *, reason: str, user: str, now: datetime) -> PayoutOutcome:
	"""Cancel a Queued or Failed payout (caller commits). The share stays in the driver's payable.

	Raises :class:`PayoutStateError` for any other status: a Sent or Unknown payout may still be
	paid by Daraja and must be resolved first; Paid and Cancelled are final.
	"""
	reason = (reason or "").strip()
	if not reason:
		raise PayoutStateError("Give a reason for cancelling the payout.")
	row = read_payout(db, name, for_update=True)
	if row is None:
		raise PayoutStateError(f"Payout {name} does not exist.")
	if row.status not in (QUEUED, FAILED):
		raise PayoutStateError(
			f"Payout {name} is {row.status}; only Queued or Failed payouts can be cancelled"
			+ (
				" (Daraja may still pay it: wait for the result or retry to resolve it)."
				if row.status in IN_FLIGHT
				else "."
			)
		)
	update_payout(
		db,
		name,
		now,
		status=CANCELLED,
		cancel_reason=reason[:ERROR_CHARS_MAX],
		cancelled_by=user[:140],
		finished_at=now,
		next_attempt_at=None,
	)
	return PayoutOutcome(name, CANCELLED, changed=True, driver=row.driver)
