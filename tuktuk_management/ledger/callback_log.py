"""TukTuk Callback Log: every callback body stored first, then processed and marked (DESIGN §3).

The store is its own unit of work (the caller commits right after :func:`store_callback`), so a
body is never lost even if processing fails; :func:`process_logged_confirmation` applies it and
marks the log in the same transaction as the payment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tuktuk_management.daraja import models
from tuktuk_management.ledger import c2b
from tuktuk_management.ledger.database import Database, affected_rows
from tuktuk_management.ledger.rows import insert_statement, new_name, sql_datetime, standard_values
from tuktuk_management.ledger.settings import LedgerSettings

C2B_CONFIRMATION = "C2B Confirmation"
C2B_VALIDATION = "C2B Validation"
B2C_RESULT = "B2C Result"
B2C_TIMEOUT = "B2C Timeout"

RECEIVED = "Received"
FAILED = "Failed"
REJECTED = "Rejected"

STORED_BODY_CHARS_MAX = models.CALLBACK_BODY_BYTES_MAX  # a longer body is Invalid anyway
REJECTED_BODY_CHARS_MAX = 4_096
ERROR_CHARS_MAX = 1_000
ATTEMPTS_MAX = 5
PENDING_BATCH_MAX = 200
_INSERT_LOG = insert_statement(
	"TukTuk Callback Log",
	("endpoint", "status", "received_at", "source_ip", "trans_id", "attempts", "error", "raw_body"),
)


def store_callback(
	db: Database,
	*,
	endpoint: str,
	raw_body: bytes | str,
	received_at: datetime,
	source_ip: str | None = None,
	status: str = RECEIVED,
	error: str = "",
	user: str = "Guest",
) -> str:
	"""Insert a TukTuk Callback Log row for ``raw_body`` exactly as received; return its name.

	Bodies are truncated to STORED_BODY_CHARS_MAX characters (a longer body is Invalid: the
	caller processes the body it received, not the stored copy) and to REJECTED_BODY_CHARS_MAX
	for Rejected calls, which may be hostile. ``trans_id`` is copied from the body when it has a
	well-formed TransID. The caller commits.
	"""
	text = raw_body.decode("utf-8", "replace") if isinstance(raw_body, bytes) else str(raw_body)
	text = text[: REJECTED_BODY_CHARS_MAX if status == REJECTED else STORED_BODY_CHARS_MAX]
	name = new_name()
	received = sql_datetime(received_at)
	db.sql(
		_INSERT_LOG,
		(
			*standard_values(name, received, user),
			endpoint,
			status,
			received,
			(source_ip or "")[:140],
			models.trans_id_of(text) if status != REJECTED else "",
			0,
			error[:ERROR_CHARS_MAX],
			text,
		),
	)
	return name


_MARK_LOG = """update `tabTukTuk Callback Log` set status = %s, error = %s, transaction = %s,
	processed_at = %s, modified = %s, attempts = attempts + %s where name = %s"""
# The claim: the same update, made only while the log still waits (Received, or Failed for a retry).
_CLAIM_LOG = _MARK_LOG + f" and status in ('{RECEIVED}', '{FAILED}')"


def mark_callback(
	db: Database,
	name: str,
	*,
	status: str,
	now: datetime,
	error: str = "",
	transaction: str | None = None,
	count_attempt: bool = True,
) -> None:
	"""Set a log's status, error text and linked transaction; count the processing attempt."""
	db.sql(
		_MARK_LOG,
		(status, error[:ERROR_CHARS_MAX], transaction, now, now, 1 if count_attempt else 0, name),
	)


def claim_callback(db: Database, name: str, outcome: c2b.C2BOutcome, *, now: datetime) -> bool:
	"""Mark a log with ``outcome`` and count one attempt, only if it still waits; True if it did.

	One UPDATE that takes the log row's lock: a concurrent claim of the same log (the webhook and
	the scheduled job) waits for it, then finds the log no longer waiting and changes nothing.
	"""
	at = sql_datetime(now)
	db.sql(
		_CLAIM_LOG,
		(outcome.status, outcome.reason[:ERROR_CHARS_MAX], outcome.transaction, at, at, 1, name),
	)
	return affected_rows(db) > 0


class _AlreadyHandled(Exception):
	"""Raised by the planned-outcome hook when another process handled the log first (nothing
	was written yet)."""


def process_logged_confirmation(
	db: Database,
	name: str,
	raw_body: bytes | str | dict,
	*,
	settings: LedgerSettings,
	now: datetime,
	on_step: Callable[[str], None] | None = None,
) -> c2b.C2BOutcome:
	"""Apply a stored confirmation and mark its log, in the caller's transaction.

	The log is claimed (marked and row-locked by one conditional UPDATE, see
	:func:`claim_callback`) before anything is written, and left alone unless it still waits
	(Received, or Failed with a retry due): then the outcome carries the log's current status and
	``already_handled=True``, so the webhook and the scheduled job never apply or re-mark the same
	log twice. While TukTuk Settings' ``processing_paused`` is on, nothing is applied and the log
	stays Received (the scheduled job applies it later).

	This is the whole unit of work of the caller's transaction: on any exception the caller rolls
	the transaction back (as ``run_with_retry`` requires anyway), so the core runs without its own
	savepoint here and a failure leaves its partial writes to that rollback.
	"""
	if settings.processing_paused:
		return c2b.C2BOutcome(c2b.PAUSED, trans_id=models.trans_id_of(raw_body))
	marked: list[c2b.C2BOutcome] = []

	def mark_planned(planned: c2b.C2BOutcome) -> None:
		# The claim, marked with the expected outcome before the core writes anything or locks the
		# driver, so this write is not made while the driver row is locked; re-marked below if the
		# outcome differs.
		if not claim_callback(db, name, planned, now=now):
			raise _AlreadyHandled
		marked.append(planned)

	try:
		outcome = c2b.process_confirmation(
			db,
			raw_body,
			settings=settings,
			now=now,
			callback_log=name,
			on_step=on_step,
			on_planned=mark_planned,
			savepoint=False,  # every caller rolls the whole unit of work back on an error
		)
	except _AlreadyHandled:
		return _already_handled(db, name, raw_body)
	if not marked:
		# Invalid, Duplicate or Conflict found before anything was written: claim with it.
		if not claim_callback(db, name, outcome, now=now):
			return _already_handled(db, name, raw_body)
	elif _log_fields(marked[0]) != _log_fields(outcome):
		mark_callback(
			db,
			name,
			status=outcome.status,
			now=now,
			error=outcome.reason,
			transaction=outcome.transaction,
			count_attempt=False,
		)
	return outcome


def _already_handled(db: Database, name: str, raw_body: bytes | str | dict) -> c2b.C2BOutcome:
	"""The outcome for a log another process has handled: its current status and transaction."""
	# A locking read: the latest committed row, not this transaction's snapshot (taken by the
	# core's look-up, possibly before the other process committed).
	rows = db.sql(
		"select status, transaction from `tabTukTuk Callback Log` where name = %s for update", (name,)
	)
	assert rows, f"callback log {name} does not exist"
	status, transaction = rows[0]
	return c2b.C2BOutcome(
		status, trans_id=models.trans_id_of(raw_body), transaction=transaction, already_handled=True
	)


def _log_fields(outcome: c2b.C2BOutcome) -> tuple:
	return outcome.status, outcome.reason, outcome.transaction


def mark_failed(db: Database, name: str, exc: BaseException, *, now: datetime) -> None:
	"""Record an unexpected processing error (class and message, no traceback) as Failed."""
	mark_callback(db, name, status=FAILED, now=now, error=f"{type(exc).__name__}: {exc}")


def pending_confirmations(db: Database, *, limit: int = PENDING_BATCH_MAX) -> list[tuple[str, str]]:
	"""Stored confirmations still to apply (Received, or Failed with attempts left), oldest first.

	Returns at most ``limit`` ``(name, raw_body)`` pairs.
	"""
	assert 0 < limit <= PENDING_BATCH_MAX
	rows = db.sql(
		"""select name, raw_body from `tabTukTuk Callback Log`
		where endpoint = %s and status in (%s, %s) and attempts < %s
		order by received_at, name limit %s""",
		(C2B_CONFIRMATION, RECEIVED, FAILED, ATTEMPTS_MAX, limit),
	)
	return [(name, raw_body) for name, raw_body in rows]
