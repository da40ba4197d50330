"""B2C payout lifecycle on TukTuk Payout (DESIGN §4): paid exactly once, failures recoverable.

States (``status``): Queued (written with the payment) → Unknown while a request is in flight
or its outcome is unknown → Sent (Daraja accepted it; ``conversation_id`` stored) → Paid (result
``ResultCode`` 0: voucher payable → b2c posted in the same transaction, receipt stored) or
Failed (code and description stored; the share stays payable; retried by policy unless the code
is final) ; Cancelled by a manager from Queued or Failed (the share stays payable for a later
payout or a manual settlement: payable is only debited when a payout is Paid).

Why a driver is never paid twice:

- The ``OriginatorConversationID`` is deterministic: ``TTK-<payout>`` for the first attempt,
  ``TTK-<payout>-<n>`` for attempt n. Daraja refuses a reused id as a duplicate, so any resend
  of a request whose outcome is unknown (crash, timeout) reuses the same id and cannot pay again.
  A new id is only taken after a *definite* failure for the previous one (a failure result, a
  failed Transaction Status, or a refusal of a brand-new id).
- The payout row is claimed (``FOR UPDATE``, status Unknown, committed) *before* the HTTP call,
  and no row lock is held during the call; the reply is recorded in a new transaction that
  re-checks the row. Every transition locks the payout row first.
- A result is applied under the payout row lock; the Paid posting happens once (a repeated
  result changes nothing), and an existing ledger voucher for the payout is asserted absent.

Unit-of-work boundaries: the send and resolve flows are three transactions each (claim; HTTP
call with no transaction open; record), so they take ``commit`` from the caller; every other
function runs inside the caller's transaction and never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from tuktuk_management.daraja import b2c as daraja_b2c
from tuktuk_management.daraja.client import (
	Accepted,
	DarajaError,
	DarajaOutcomeUnknown,
	DarajaRejected,
	DuplicateOriginatorConversationID,
	normalize_msisdn,
)
from tuktuk_management.daraja.models import InvalidCallback
from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.writer import PostingLine, lock_drivers, post_voucher

QUEUED = "Queued"
SENT = "Sent"
PAID = "Paid"
FAILED = "Failed"
UNKNOWN = "Unknown"
CANCELLED = "Cancelled"
IN_FLIGHT = (SENT, UNKNOWN)
FINISHED = (PAID, CANCELLED)

PAYOUT_DOCTYPE = accounts.PAYOUT_DOCTYPE
LOG_DOCTYPE = "TukTuk Callback Log"
B2C_RESULT = "B2C Result"
B2C_TIMEOUT = "B2C Timeout"

# Callback log statuses of result/timeout bodies (the same words as for C2B).
PROCESSED = "Processed"
DUPLICATE = "Duplicate"
CONFLICT = "Conflict"
INVALID = "Invalid"
LOG_WAITING = ("Received", "Failed")

STUCK_AFTER = timedelta(hours=1)  # Sent/Unknown longer than this: alert
QUEUED_LEFT_AFTER = timedelta(minutes=2)  # Queued longer than this: the after-commit job was lost
# Waits and the scheduler. ``tasks.process_payouts`` runs every RUN_PERIOD (hooks.py, "*/5").
# A run starts a little after its cron minute (scheduler tick, queue) and reads the clock when
# it gets to each payout, so a wait of exactly one period, measured from a moment inside one
# run, would end a few seconds after the next run started and cost a whole extra period. Every
# wait below is therefore compared with RUN_SLACK to spare (:func:`waited`): a payout that went
# Unknown during a run is resolved by the next run, one period later, as long as that run and
# the moment it went Unknown are both less than RUN_SLACK after their cron minutes.
RUN_PERIOD = timedelta(minutes=5)
RUN_SLACK = timedelta(minutes=1)
UNKNOWN_RESOLVE_AFTER = timedelta(minutes=5)  # one period: let a late reply or result arrive first
SENT_QUERY_AFTER = timedelta(minutes=30)  # Sent without a result this long: ask Transaction Status
STATUS_QUERY_INTERVAL = timedelta(minutes=10)  # two periods between status queries of a payout
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


class PayoutClient(Protocol):
	"""What the flows need from :class:`tuktuk_management.daraja.client.DarajaClient`."""

	def b2c_payment(
		self,
		*,
		originator_conversation_id: str,
		amount_kes: int,
		msisdn: str,
		remarks: str,
		occasion: str = "",
	) -> Accepted: ...

	def transaction_status(
		self, *, originator_conversation_id: str = "", transaction_id: str = "", remarks: str = ...
	) -> Accepted: ...


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


def waited(since: datetime | None, wait: timedelta, now: datetime) -> bool:
	"""True if a payout stamped at ``since`` has waited ``wait`` by the run that reads ``now``:
	``since + wait <= now + RUN_SLACK`` (see RUN_SLACK). None (never stamped) has waited."""
	return since is None or since + wait <= now + RUN_SLACK


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


def _update(db: Database, name: str, now: datetime, **values) -> None:
	assert values
	assignments = ", ".join(f"`{column}` = %s" for column in values)
	db.sql(
		f"update `tabTukTuk Payout` set {assignments}, modified = %s where name = %s",
		(*values.values(), now, name),
	)


def current_attempt(row: PayoutRow) -> int:
	parsed = daraja_b2c.parse_originator_conversation_id(row.originator_conversation_id)
	return parsed[1] if parsed else 1


def retry_delay(attempts: int, settings: LedgerSettings) -> timedelta:
	"""Backoff before the next automatic retry after ``attempts`` sends: base × 2^(attempts−1), capped."""
	base = timedelta(minutes=max(1, settings.payout_retry_backoff_minutes))
	return min(BACKOFF_CAP, base * 2 ** max(0, min(attempts, 16) - 1))


def _failure_values(
	row: PayoutRow, code: str, description: str, now: datetime, settings: LedgerSettings
) -> dict:
	final = code in daraja_b2c.FINAL_RESULT_CODES
	attempts_max = min(ATTEMPTS_HARD_MAX, max(1, settings.payout_max_attempts))
	automatic = not final and row.attempts < attempts_max
	return {
		"status": FAILED,
		"result_code": code[:140],
		"result_desc": description[:ERROR_CHARS_MAX],
		"final_failure": 1 if final else 0,
		"next_attempt_at": now + retry_delay(row.attempts, settings) if automatic else None,
		"finished_at": now,
		"last_error": "" if automatic else ("final result code" if final else "attempts exhausted"),
	}


# Sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
	"""A payout claimed for one HTTP request: what to send, and whether it is a resend of an id
	whose outcome is unknown (then a refusal proves nothing)."""

	payout: str
	driver: str
	amount_kes: int
	originator_conversation_id: str
	resend: bool


def claim_for_send(
	db: Database, name: str, *, now: datetime, settings: LedgerSettings, mode: str, manual: bool = False
) -> Claim | PayoutOutcome:
	"""Lock the payout and claim it for one B2C request (the caller commits right after).

	mode: ``send`` (Queued: first request), ``retry`` (Failed: a new attempt id; automatic retries
	need a due ``next_attempt_at``, attempts left and a non-final code unless ``manual``),
	``resend`` (Unknown without a ConversationID: the same id again, which Daraja deduplicates).
	The row becomes Unknown (outcome unknown until the reply is recorded), so a crash after the
	claim never leads to a blind new payment. Returns a :class:`Claim`, or a
	:class:`PayoutOutcome` saying why nothing is to be sent.
	"""
	row = read_payout(db, name, for_update=True)
	if row is None:
		return PayoutOutcome(name, "", reason="no such payout")
	if mode == "send" and row.status != QUEUED:
		return PayoutOutcome(name, row.status, reason="not Queued")
	if mode == "resend" and (row.status != UNKNOWN or row.conversation_id):
		return PayoutOutcome(name, row.status, reason="not Unknown without a ConversationID")
	if mode == "retry":
		if row.status != FAILED:
			return PayoutOutcome(name, row.status, reason="not Failed")
		if not manual:
			due = db.sql(
				"select next_attempt_at is not null and next_attempt_at <= %s from `tabTukTuk Payout` "
				"where name = %s",
				(now + RUN_SLACK, name),
			)[0][0]
			attempts_max = min(ATTEMPTS_HARD_MAX, max(1, settings.payout_max_attempts))
			if row.final_failure or row.attempts >= attempts_max or not due:
				return PayoutOutcome(name, row.status, reason="no automatic retry due")
		if row.attempts >= ATTEMPTS_HARD_MAX:
			return PayoutOutcome(name, row.status, reason=f"{ATTEMPTS_HARD_MAX} attempts already made")
	originator_id = row.originator_conversation_id or daraja_b2c.originator_conversation_id(name)
	values: dict = {"status": UNKNOWN, "last_attempt_at": now, "last_error": "request in flight"}
	if mode == "retry":
		originator_id = daraja_b2c.originator_conversation_id(name, current_attempt(row) + 1)
		values.update(
			originator_conversation_id=originator_id,
			conversation_id=None,
			receipt=None,
			result_code=None,
			result_desc=None,
			final_failure=0,
			next_attempt_at=None,
			finished_at=None,
			status_conversation_id=None,
			status_checked_at=None,
			resolve_attempts=0,
		)
	if mode == "resend":
		# Next time ask Transaction Status first again (resend and query alternate).
		values.update(resolve_attempts=row.resolve_attempts + 1, status_checked_at=None)
	else:
		values["attempts"] = row.attempts + 1
	_update(db, name, now, **values)
	return Claim(name, row.driver, row.amount_kes, originator_id, resend=mode == "resend")


def record_reply(
	db: Database,
	claim: Claim,
	*,
	accepted: Accepted | None = None,
	error: DarajaError | None = None,
	now: datetime,
	settings: LedgerSettings,
) -> PayoutOutcome:
	"""Record Daraja's answer to a claimed request, under the payout lock (caller commits).

	Nothing changes if the row moved on meanwhile (a result arrived first, a manager acted).
	accepted → Sent with its ConversationID; duplicate → Sent (accepted earlier); a refusal of a
	first request → Failed (nothing was paid); a refusal of a resend, or an unknown outcome →
	stays Unknown with the error (resolved later by Transaction Status).
	"""
	row = read_payout(db, claim.payout, for_update=True)
	assert row is not None
	if row.status != UNKNOWN or row.originator_conversation_id != claim.originator_conversation_id:
		return PayoutOutcome(claim.payout, row.status, reason="payout moved on before the reply was saved")
	if accepted is not None or isinstance(error, DuplicateOriginatorConversationID):
		values = {"status": SENT, "sent_at": now, "last_error": ""}
		if accepted is not None and accepted.conversation_id:
			values["conversation_id"] = accepted.conversation_id[:140]
		else:
			values["last_error"] = "Daraja already had this OriginatorConversationID (accepted earlier)"
		_update(db, claim.payout, now, **values)
		return PayoutOutcome(claim.payout, SENT, changed=True, driver=row.driver)
	assert error is not None
	if isinstance(error, DarajaRejected) and not claim.resend:
		values = _failure_values(row, error.code or "REJECTED", error.description, now, settings)
		_update(db, claim.payout, now, **values)
		return PayoutOutcome(claim.payout, FAILED, changed=True, reason=str(error), driver=row.driver)
	_update(db, claim.payout, now, last_error=f"{type(error).__name__}: {error}"[:ERROR_CHARS_MAX])
	return PayoutOutcome(claim.payout, UNKNOWN, changed=True, reason=str(error), driver=row.driver)


def _driver_msisdn(db: Database, driver: str) -> str:
	rows = db.sql("select mpesa_number from `tabTukTuk Driver` where name = %s", (driver,))
	return normalize_msisdn(rows[0][0] if rows else "")


def send_payout(
	db: Database,
	name: str,
	*,
	client: PayoutClient,
	settings: LedgerSettings,
	clock: Callable[[], datetime],
	commit: Callable[[], None],
	mode: str = "send",
	manual: bool = False,
	on_step: Callable[[str], None] | None = None,
) -> PayoutOutcome:
	"""Send one payout's B2C request: claim (commit), call Daraja with no transaction open, record
	the reply (commit). See :func:`claim_for_send` for ``mode``.

	clock: now, naive site time. on_step: test hook called with "claimed", "request_answered",
	"reply_recorded" (before the last commit). A driver number that is not a Kenyan mobile
	number fails the payout (final, code ``LOCAL-MSISDN``) without calling Daraja.
	"""
	step = on_step or (lambda _name: None)
	claim = claim_for_send(db, name, now=clock(), settings=settings, mode=mode, manual=manual)
	if isinstance(claim, PayoutOutcome):
		db.rollback()
		return claim
	try:
		msisdn = _driver_msisdn(db, claim.driver)
	except ValueError as exc:
		if claim.resend:
			db.rollback()
			return PayoutOutcome(name, UNKNOWN, reason=str(exc))
		row = read_payout(db, name)
		assert row is not None
		_update(
			db,
			name,
			clock(),
			**_failure_values(row, LOCAL_MSISDN_CODE, f"driver's M-Pesa number: {exc}", clock(), settings),
		)
		commit()
		return PayoutOutcome(name, FAILED, changed=True, reason=str(exc), driver=claim.driver)
	commit()  # the claim is durable before any money can move
	step("claimed")
	accepted: Accepted | None = None
	error: DarajaError | None = None
	try:
		accepted = client.b2c_payment(
			originator_conversation_id=claim.originator_conversation_id,
			amount_kes=claim.amount_kes,
			msisdn=msisdn,
			remarks=f"TukTuk payout {name}",
			occasion=name,
		)
	except DarajaError as exc:
		error = exc
	except Exception as exc:  # anything else: we cannot know whether the request left
		error = DarajaOutcomeUnknown(f"{type(exc).__name__}: {exc}")
	step("request_answered")
	outcome = record_reply(db, claim, accepted=accepted, error=error, now=clock(), settings=settings)
	step("reply_recorded")
	commit()
	return outcome


# Resolving Unknown and silent Sent payouts ------------------------------------------------------


def resolve_payout(
	db: Database,
	name: str,
	*,
	client: PayoutClient,
	settings: LedgerSettings,
	clock: Callable[[], datetime],
	commit: Callable[[], None],
	force: bool = False,
	on_step: Callable[[str], None] | None = None,
) -> PayoutOutcome:
	"""Find out what happened to an Unknown (or long-silent Sent) payout, never paying twice.

	First a Transaction Status query by its OriginatorConversationID (the answer arrives as a
	result callback and is applied by :func:`apply_result`); if a query was made at least
	STATUS_QUERY_INTERVAL ago, nothing conclusive came back and Daraja never acknowledged the
	request (no ConversationID), the same request is resent with the same id (Daraja refuses a
	duplicate, so this cannot pay twice). At most one query per STATUS_QUERY_INTERVAL unless
	``force`` (a manager's retry).
	"""
	now = clock()
	row = read_payout(db, name)
	db.rollback()  # end the read snapshot; no lock is held across the HTTP call
	if row is None or row.status not in IN_FLIGHT:
		return PayoutOutcome(name, row.status if row else "", reason="not Sent or Unknown")
	queried_long_ago = row.status_checked_at is not None and waited(
		row.status_checked_at, STATUS_QUERY_INTERVAL, now
	)
	if row.status == UNKNOWN and not row.conversation_id and queried_long_ago:
		return send_payout(
			db,
			name,
			client=client,
			settings=settings,
			clock=clock,
			commit=commit,
			mode="resend",
			on_step=on_step,
		)
	if not force and row.status_checked_at is not None and not queried_long_ago:
		return PayoutOutcome(name, row.status, reason="status query made recently")
	error = ""
	conversation_id = ""
	try:
		accepted = client.transaction_status(originator_conversation_id=row.originator_conversation_id)
		conversation_id = accepted.conversation_id
	except DarajaError as exc:
		error = f"status query: {type(exc).__name__}: {exc}"
	locked = read_payout(db, name, for_update=True)
	assert locked is not None
	if locked.status != row.status or locked.originator_conversation_id != row.originator_conversation_id:
		db.rollback()
		return PayoutOutcome(name, locked.status, reason="payout moved on during the status query")
	values: dict = {"status_checked_at": clock(), "resolve_attempts": locked.resolve_attempts + 1}
	if conversation_id:
		values["status_conversation_id"] = conversation_id[:140]
	if error:
		values["last_error"] = error[:ERROR_CHARS_MAX]
	_update(db, name, clock(), **values)
	commit()
	return PayoutOutcome(name, locked.status, changed=True, reason=error or "status query sent")


# Results -------------------------------------------------------------------------------------


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
		(PAYOUT_DOCTYPE, row.name),
	)[0][0]
	assert not existing, f"payout {row.name} already has ledger lines"
	locked = lock_drivers(db, [row.driver])
	step("driver_locked")
	post_voucher(
		db,
		voucher_type=PAYOUT_DOCTYPE,
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
	_update(
		db,
		row.name,
		now,
		status=PAID,
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
		return PayoutOutcome(None, INVALID, reason=exc.reason)
	name, attempt, is_status = _find_payout_for_result(db, result)
	if name is None:
		return PayoutOutcome(
			None, INVALID, reason="no payout has this OriginatorConversationID/ConversationID"
		)
	row = read_payout(db, name, for_update=True)
	if row is None:
		return PayoutOutcome(name, INVALID, reason="no payout has this OriginatorConversationID")
	step("payout_locked")
	current = current_attempt(row)
	if endpoint == B2C_TIMEOUT:
		if row.status in IN_FLIGHT and (attempt is None or attempt == current):
			_update(
				db,
				name,
				now,
				status=UNKNOWN,
				status_checked_at=None,
				last_error="Daraja queue timeout (B2C Timeout)",
			)
			return PayoutOutcome(
				name, PROCESSED, changed=True, reason="timed out: resolved by Transaction Status"
			)
		return PayoutOutcome(name, DUPLICATE, reason=f"payout is {row.status}")
	if is_status:
		return _apply_status_result(db, row, result, now=now, settings=settings, on_step=on_step)
	if result.succeeded:
		if row.status == PAID:
			if row.receipt == result.receipt:
				return PayoutOutcome(name, DUPLICATE, reason="already Paid", driver=row.driver)
			return PayoutOutcome(
				name,
				CONFLICT,
				reason=f"a second success (receipt {result.receipt}) for a Paid payout",
				driver=row.driver,
			)
		if row.attempts == 0:
			# Never sent (a request is always claimed first): no money can have moved for it.
			return PayoutOutcome(name, CONFLICT, reason="success result for a payout never sent; not applied")
		note = "" if row.status in IN_FLIGHT else f" (payout was {row.status}: money moved anyway)"
		mark_paid(
			db,
			row,
			receipt=result.receipt,
			result_code=result.ResultCode,
			result_desc=result.ResultDesc + note,
			now=now,
			on_step=on_step,
		)
		return PayoutOutcome(name, PROCESSED, changed=True, reason=note.strip(), driver=row.driver)
	# A failure result.
	if attempt is not None and attempt < current:
		return PayoutOutcome(name, DUPLICATE, reason="failure of an earlier attempt", driver=row.driver)
	if row.status not in IN_FLIGHT and row.status != QUEUED:
		return PayoutOutcome(name, DUPLICATE, reason=f"payout is already {row.status}", driver=row.driver)
	_update(db, name, now, **_failure_values(row, result.ResultCode, result.ResultDesc, now, settings))
	step("payout_marked")
	return PayoutOutcome(name, PROCESSED, changed=True, reason="failed", driver=row.driver)


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
	if row.status not in IN_FLIGHT:
		return PayoutOutcome(row.name, DUPLICATE, reason=f"payout is already {row.status}", driver=row.driver)
	if not result.succeeded:
		_update(
			db,
			row.name,
			now,
			last_error=f"status query: {result.ResultCode} {result.ResultDesc}"[:ERROR_CHARS_MAX],
		)
		return PayoutOutcome(
			row.name, PROCESSED, changed=True, reason="status query inconclusive", driver=row.driver
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
			row.name, PROCESSED, changed=True, reason="paid (Transaction Status)", driver=row.driver
		)
	if status in ("failed", "cancelled", "declined", "expired", "reversed"):
		values = _failure_values(row, f"STATUS-{result.transaction_status}", result.ResultDesc, now, settings)
		_update(db, row.name, now, **values)
		return PayoutOutcome(
			row.name, PROCESSED, changed=True, reason="failed (Transaction Status)", driver=row.driver
		)
	_update(
		db, row.name, now, last_error=f"status query: transaction {result.transaction_status or 'pending'}"
	)
	return PayoutOutcome(
		row.name, PROCESSED, changed=True, reason="still pending at Daraja", driver=row.driver
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
	if rows[0][0] not in LOG_WAITING:
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
		where endpoint in (%s, %s) and status in ('Received', 'Failed') and attempts < %s
		order by received_at, name limit %s""",
		(B2C_RESULT, B2C_TIMEOUT, attempts_max, limit),
	)
	return [(name, endpoint, raw_body) for name, endpoint, raw_body in rows]


# Manager actions ------------------------------------------------------------------------------


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
	_update(
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


# Scheduler queries ----------------------------------------------------------------------------


def _names(db: Database, where: str, values: tuple, limit: int) -> list[str]:
	assert 0 < limit <= BATCH_MAX
	return [
		name
		for (name,) in db.sql(
			f"select name from `tabTukTuk Payout` where {where} order by modified, name limit %s",
			(*values, limit),
		)
	]


def queued_left_behind(db: Database, now: datetime, *, limit: int = BATCH_MAX) -> list[str]:
	"""Queued payouts older than QUEUED_LEFT_AFTER (their after-commit job was lost or failed)."""
	return _names(db, "status = %s and queued_at <= %s", (QUEUED, now - QUEUED_LEFT_AFTER), limit)


def failed_due(db: Database, now: datetime, settings: LedgerSettings, *, limit: int = BATCH_MAX) -> list[str]:
	"""Failed payouts whose automatic retry is due (not final, attempts left; ``next_attempt_at``
	compared with RUN_SLACK to spare)."""
	attempts_max = min(ATTEMPTS_HARD_MAX, max(1, settings.payout_max_attempts))
	return _names(
		db,
		"status = %s and final_failure = 0 and attempts < %s and next_attempt_at is not null and next_attempt_at <= %s",
		(FAILED, attempts_max, now + RUN_SLACK),
		limit,
	)


def in_flight_due(db: Database, now: datetime, *, limit: int = BATCH_MAX) -> list[str]:
	"""Unknown payouts quiet for UNKNOWN_RESOLVE_AFTER, and Sent ones without a result for
	SENT_QUERY_AFTER, whose last status query (if any) is STATUS_QUERY_INTERVAL old and which
	have not used up RESOLVE_ATTEMPTS_MAX (after that: the stuck alert and a manager). Each wait
	is compared with RUN_SLACK to spare (:func:`waited`)."""
	return _names(
		db,
		"""((status = %s and coalesce(last_attempt_at, queued_at) <= %s)
			or (status = %s and coalesce(sent_at, last_attempt_at, queued_at) <= %s))
		and (status_checked_at is null or status_checked_at <= %s) and resolve_attempts < %s""",
		(
			UNKNOWN,
			now + RUN_SLACK - UNKNOWN_RESOLVE_AFTER,
			SENT,
			now + RUN_SLACK - SENT_QUERY_AFTER,
			now + RUN_SLACK - STATUS_QUERY_INTERVAL,
			RESOLVE_ATTEMPTS_MAX,
		),
		limit,
	)


def stuck_payouts(db: Database, now: datetime, *, limit: int = BATCH_MAX) -> list[dict]:
	"""Payouts Sent or Unknown for more than STUCK_AFTER, oldest first: ``{"name", "driver",
	"amount_kes", "status", "since", "last_error"}`` (no phone numbers or names)."""
	assert 0 < limit <= BATCH_MAX
	rows = db.sql(
		"""select name, driver, amount, status, coalesce(last_attempt_at, sent_at, queued_at) as since, last_error
		from `tabTukTuk Payout` where status in (%s, %s) and coalesce(last_attempt_at, sent_at, queued_at) <= %s
		order by since, name limit %s""",
		(SENT, UNKNOWN, now - STUCK_AFTER, limit),
	)
	return [
		{
			"name": name,
			"driver": driver,
			"amount_kes": to_kes(amount),
			"status": status,
			"since": since,
			"last_error": error or "",
		}
		for name, driver, amount, status, since, error in rows
	]


def payout_ledger_mismatches(db: Database, *, limit: int = 1_000) -> list[dict]:
	"""Every Paid payout has exactly its payable → b2c voucher and no other payout has one
	(DESIGN §6): ``{"payout", "status", "amount_kes", "ledger_b2c_kes"}`` for each that differs."""
	rows = db.sql(
		f"""select p.name, p.status, p.amount, coalesce(l.b2c_kes, 0), coalesce(l.payable_kes, 0)
		from `tabTukTuk Payout` p
		left join (
			select voucher_no,
				sum(case when account = %s then credit - debit else 0 end) as b2c_kes,
				sum(case when account = %s then debit - credit else 0 end) as payable_kes
			from `tabTukTuk Ledger Entry` where voucher_type = %s group by voucher_no
		) l on l.voucher_no = p.name
		where (p.status = %s and (coalesce(l.b2c_kes, 0) <> p.amount or coalesce(l.payable_kes, 0) <> p.amount))
			or (p.status <> %s and l.voucher_no is not null)
		limit {int(limit)}""",
		(accounts.B2C, accounts.PAYABLE, PAYOUT_DOCTYPE, PAID, PAID),
	)
	return [
		{"payout": name, "status": status, "amount_kes": to_kes(amount), "ledger_b2c_kes": to_kes(b2c)}
		for name, status, amount, b2c, _payable in rows
	]


def run_due_payouts(
	db: Database,
	*,
	client: PayoutClient,
	settings: LedgerSettings,
	clock: Callable[[], datetime],
	commit: Callable[[], None],
	batch_size_max: int = BATCH_MAX,
) -> dict[str, int]:
	"""One scheduler pass: send Queued payouts left behind, retry Failed ones whose retry is due,
	resolve Unknown/silent Sent ones; each payout in its own units of work. At most
	``batch_size_max`` payouts of each kind per pass. Returns counts per action and resulting
	status. Does not send anything while instant payouts are switched off, except resolving
	payouts already in flight (their money may have moved)."""
	counts: dict[str, int] = {}

	def count(action: str, outcome: PayoutOutcome) -> None:
		key = f"{action}:{outcome.status or 'missing'}"
		counts[key] = counts.get(key, 0) + 1

	now = clock()
	resolve = in_flight_due(db, now, limit=batch_size_max)
	send = queued_left_behind(db, now, limit=batch_size_max) if settings.instant_payouts_enabled else []
	retry = failed_due(db, now, settings, limit=batch_size_max) if settings.instant_payouts_enabled else []
	db.rollback()  # end the read snapshot before any HTTP call
	for name in resolve:
		count(
			"resolve", resolve_payout(db, name, client=client, settings=settings, clock=clock, commit=commit)
		)
	for name in send:
		count("send", send_payout(db, name, client=client, settings=settings, clock=clock, commit=commit))
	for name in retry:
		count(
			"retry",
			send_payout(db, name, client=client, settings=settings, clock=clock, commit=commit, mode="retry"),
		)
	return counts
