"""TukTuk Callback Log: every callback body stored first, then applied and marked (DESIGN §3).

:func:`receive_logged` is the one routine every stored callback goes through (the C2B and B2C
endpoints, the console, the standalone runner): store the raw body and commit, so it is never
lost, then :func:`apply_logged`. That applies it (the processor marks the log in the same
transaction as its effect) with bounded deadlock retry and commits; on any other error it rolls
back, marks the log Failed and commits, and the scheduled jobs call :func:`apply_logged` again
later. :func:`process_logged_confirmation` is the C2B processor: prepare, claim the log, apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from tuktuk_management.daraja import models
from tuktuk_management.ledger import c2b, doctypes
from tuktuk_management.ledger.database import Database, affected_rows, run_with_retry
from tuktuk_management.ledger.rows import insert_statement, new_name, sql_datetime, standard_values
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.status import CallbackEndpoint, LogStatus

C2B_CONFIRMATION = CallbackEndpoint.C2B_CONFIRMATION
C2B_VALIDATION = CallbackEndpoint.C2B_VALIDATION
B2C_RESULT = CallbackEndpoint.B2C_RESULT
B2C_TIMEOUT = CallbackEndpoint.B2C_TIMEOUT

STORED_BODY_CHARS_MAX = models.CALLBACK_BODY_BYTES_MAX  # a longer body is Invalid anyway
REJECTED_BODY_CHARS_MAX = 4_096
ERROR_CHARS_MAX = 1_000
ATTEMPTS_MAX = 5
PENDING_BATCH_MAX = 200
_INSERT_LOG = insert_statement(
	doctypes.CALLBACK_LOG,
	(
		"endpoint",
		"status",
		"received_at",
		"source_ip",
		"trans_id",
		"attempts",
		"error",
		"raw_body",
		"legacy_url",
		"forwarded_for",
		"remote_addr",
	),
)
FORWARDED_FOR_CHARS_MAX = 1_000


def store_callback(
	db: Database,
	*,
	endpoint: str,
	raw_body: bytes | str,
	received_at: datetime,
	source_ip: str | None = None,
	status: str = LogStatus.RECEIVED,
	error: str = "",
	user: str = "Guest",
	legacy_url: str | None = None,
	forwarded_for: str = "",
	remote_addr: str = "",
) -> str:
	"""Insert a TukTuk Callback Log row for ``raw_body`` exactly as received; return its name.

	source_ip: the caller's address as used for the allowlist (see
	:func:`tuktuk_management.ledger.callback_guard.client_address`); forwarded_for: the raw
	``X-Forwarded-For`` header as received; remote_addr: the connection's address.

	legacy_url: the original app's callback method the call arrived at (its aliases, see
	:mod:`tuktuk_management.legacy.callbacks`), None for this app's own URLs.

	Bodies are truncated to STORED_BODY_CHARS_MAX characters (a longer body is Invalid: the
	caller processes the body it received, not the stored copy) and to REJECTED_BODY_CHARS_MAX
	for Rejected calls, which may be hostile. ``trans_id`` is copied from the body when it has a
	well-formed TransID. The caller commits.
	"""
	text = raw_body.decode("utf-8", "replace") if isinstance(raw_body, bytes) else str(raw_body)
	text = text[: REJECTED_BODY_CHARS_MAX if status == LogStatus.REJECTED else STORED_BODY_CHARS_MAX]
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
			models.trans_id_of(text) if status != LogStatus.REJECTED else "",
			0,
			error[:ERROR_CHARS_MAX],
			text,
			legacy_url[:140] if legacy_url else None,
			(forwarded_for or "")[:FORWARDED_FOR_CHARS_MAX],
			(remote_addr or "")[:140],
		),
	)
	return name


_MARK_LOG = """update `tabTukTuk Callback Log` set status = %s, error = %s, transaction = %s,
	processed_at = %s, modified = %s, attempts = attempts + %s where name = %s"""
# The claim: the same update, made only while the log still waits (Received, or Failed for a retry).
_CLAIM_LOG = _MARK_LOG + " and status in (" + ", ".join(f"'{status}'" for status in LogStatus.WAITING) + ")"


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

	Prepare (parse, look up, route, plan: no writes), claim the log with the expected outcome
	(marked and row-locked by one conditional UPDATE, see :func:`claim_callback`) before anything
	is written or the driver locked, then apply; re-mark the log if the outcome differs. A log
	that no longer waits (another process handled it) is left alone: the outcome then carries the
	log's current status and ``already_handled=True``, so the webhook and the scheduled job never
	apply or re-mark the same log twice. While TukTuk Settings' ``processing_paused`` is on,
	nothing is applied and the log stays Received (the scheduled job applies it later).

	This is the whole unit of work of the caller's transaction: on any exception the caller rolls
	the transaction back (as ``run_with_retry`` requires anyway), so the core runs without its own
	savepoint here and a failure leaves its partial writes to that rollback.
	"""
	if settings.processing_paused:
		return c2b.C2BOutcome(LogStatus.RECEIVED, trans_id=models.trans_id_of(raw_body))
	prepared = c2b.prepare_confirmation(db, raw_body, settings=settings, now=now)
	if not claim_callback(db, name, prepared.outcome, now=now):
		return _already_handled(db, name, raw_body)
	outcome = c2b.apply_confirmation(
		db,
		prepared,
		settings=settings,
		now=now,
		callback_log=name,
		on_step=on_step,
		savepoint=False,  # every caller rolls the whole unit of work back on an error
	)
	if _log_fields(outcome) != _log_fields(prepared.outcome):
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
	mark_callback(db, name, status=LogStatus.FAILED, now=now, error=f"{type(exc).__name__}: {exc}")


def pending_confirmations(db: Database, *, limit: int = PENDING_BATCH_MAX) -> list[tuple[str, str]]:
	"""Stored confirmations still to apply (Received, or Failed with attempts left), oldest first.

	Returns at most ``limit`` ``(name, raw_body)`` pairs.
	"""
	assert 0 < limit <= PENDING_BATCH_MAX
	rows = db.sql(
		"""select name, raw_body from `tabTukTuk Callback Log`
		where endpoint = %s and status in (%s, %s) and attempts < %s
		order by received_at, name limit %s""",
		(C2B_CONFIRMATION, *LogStatus.WAITING, ATTEMPTS_MAX, limit),
	)
	return [(name, raw_body) for name, raw_body in rows]


# -- The stored-callback routine -----------------------------------------------------------------


class Transactional(Database, Protocol):
	"""A database the routine can end units of work on (Frappe's ``frappe.db``, the runner's)."""

	def commit(self) -> None: ...


class Outcome(Protocol):
	"""What a processor returns: at least the status it marked the log with."""

	status: str


OutcomeT = TypeVar("OutcomeT", bound=Outcome)


@dataclass(frozen=True)
class Logged(Generic[OutcomeT]):
	"""One stored callback after :func:`apply_logged`: its log, the log's status and the
	processor's outcome (None when applying failed and the log is Failed)."""

	log: str
	status: str
	outcome: OutcomeT | None = None


def receive_logged(
	db: Transactional,
	*,
	endpoint: str,
	raw_body: bytes | str,
	received_at: datetime,
	source_ip: str,
	apply: Callable[[str], Logged[OutcomeT]],
	legacy_url: str | None = None,
	remote_addr: str = "",
	forwarded_for: str = "",
) -> Logged[OutcomeT]:
	"""Store ``raw_body`` in a new TukTuk Callback Log and commit (raw first), then ``apply(log)``:
	:func:`apply_logged` with the endpoint's processor. legacy_url, remote_addr, forwarded_for:
	see :func:`store_callback`."""
	log = store_callback(
		db,
		endpoint=endpoint,
		raw_body=raw_body,
		received_at=received_at,
		source_ip=source_ip,
		legacy_url=legacy_url,
		remote_addr=remote_addr,
		forwarded_for=forwarded_for,
	)
	# Raw first: the body is committed in its own write before any processing, so it survives
	# whatever happens next (the scheduled job applies it if processing fails or is paused).
	db.commit()  # unit-of-work boundary: the raw body is stored before any processing
	return apply(log)


def apply_logged(
	db: Transactional,
	log: str,
	process: Callable[[], OutcomeT],
	*,
	now: datetime,
	on_applied: Callable[[str, OutcomeT], None] | None = None,
	on_failed: Callable[[str, Exception], None] | None = None,
	commit: bool = True,
) -> Logged[OutcomeT]:
	"""Apply one stored callback in its own unit of work and commit it; the log's status.

	process: applies the body and marks the log in the open transaction (and nothing else is in
	it); deadlocks and lock timeouts are retried by ``run_with_retry``. Any other error rolls the
	transaction back, marks the log Failed (the scheduled job retries it), calls ``on_failed(log,
	exc)`` (the Frappe layer writes an Error Log there) and commits. On success
	``on_applied(log, outcome)`` runs before the commit (so what it writes or enqueues after
	commit goes with the unit of work). commit=False leaves a successful unit of work to the
	caller's commit (the webhook: Frappe commits every POST request at its end).
	"""
	try:
		outcome = run_with_retry(process, rollback=db.rollback)
	except Exception as exc:
		db.rollback()
		mark_failed(db, log, exc, now=now)
		if on_failed:
			on_failed(log, exc)
		db.commit()  # unit-of-work boundary: the Failed mark is kept for the retry job
		return Logged(log, LogStatus.FAILED)
	if on_applied:
		on_applied(log, outcome)
	if commit:
		db.commit()  # unit-of-work boundary: the callback's effect and its log mark
	return Logged(log, outcome.status, outcome)
