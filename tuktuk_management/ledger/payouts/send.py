"""Sending B2C payout requests and resolving payouts whose outcome is unknown.

The send and resolve flows are three units of work each (claim and commit; the HTTP call with
no transaction open; record the reply and commit), so they take ``commit`` from the caller. A
claim turns the row Unknown before any money can move; a resend reuses the same
``OriginatorConversationID``, which Daraja refuses as a duplicate, so nothing is paid twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tuktuk_management.daraja import b2c as daraja_b2c
from tuktuk_management.daraja.errors import (
	Accepted,
	DarajaError,
	DarajaOutcomeUnknown,
	DarajaRejected,
	DuplicateOriginatorConversationID,
	normalize_msisdn,
)
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.payouts.queries import failed_due, in_flight_due, queued_left_behind
from tuktuk_management.ledger.payouts.state import (
	ATTEMPTS_HARD_MAX,
	BATCH_MAX,
	ERROR_CHARS_MAX,
	LOCAL_MSISDN_CODE,
	STATUS_QUERY_INTERVAL,
	PayoutOutcome,
	attempts_max,
	current_attempt,
	failure_values,
	read_payout,
	update_payout,
)
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.status import PayoutStatus


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
	if mode == "send" and row.status != PayoutStatus.QUEUED:
		return PayoutOutcome(name, row.status, reason="not Queued")
	if mode == "resend" and (row.status != PayoutStatus.UNKNOWN or row.conversation_id):
		return PayoutOutcome(name, row.status, reason="not Unknown without a ConversationID")
	if mode == "retry":
		if row.status != PayoutStatus.FAILED:
			return PayoutOutcome(name, row.status, reason="not Failed")
		if not manual:
			due = db.sql(
				"select next_attempt_at is not null and next_attempt_at <= %s from `tabTukTuk Payout` "
				"where name = %s",
				(now, name),
			)[0][0]
			if row.final_failure or row.attempts >= attempts_max(settings) or not due:
				return PayoutOutcome(name, row.status, reason="no automatic retry due")
		if row.attempts >= ATTEMPTS_HARD_MAX:
			return PayoutOutcome(name, row.status, reason=f"{ATTEMPTS_HARD_MAX} attempts already made")
	originator_id = row.originator_conversation_id or daraja_b2c.originator_conversation_id(name)
	values: dict = {"status": PayoutStatus.UNKNOWN, "last_attempt_at": now, "last_error": "request in flight"}
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
	update_payout(db, name, now, **values)
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
	if (
		row.status != PayoutStatus.UNKNOWN
		or row.originator_conversation_id != claim.originator_conversation_id
	):
		return PayoutOutcome(claim.payout, row.status, reason="payout moved on before the reply was saved")
	if accepted is not None or isinstance(error, DuplicateOriginatorConversationID):
		values = {"status": PayoutStatus.SENT, "sent_at": now, "last_error": ""}
		if accepted is not None and accepted.conversation_id:
			values["conversation_id"] = accepted.conversation_id[:140]
		else:
			values["last_error"] = "Daraja already had this OriginatorConversationID (accepted earlier)"
		update_payout(db, claim.payout, now, **values)
		return PayoutOutcome(claim.payout, PayoutStatus.SENT, changed=True, driver=row.driver)
	assert error is not None
	if isinstance(error, DarajaRejected) and not claim.resend:
		values = failure_values(row, error.code or "REJECTED", error.description, now, settings)
		update_payout(db, claim.payout, now, **values)
		return PayoutOutcome(
			claim.payout, PayoutStatus.FAILED, changed=True, reason=str(error), driver=row.driver
		)
	update_payout(db, claim.payout, now, last_error=f"{type(error).__name__}: {error}"[:ERROR_CHARS_MAX])
	return PayoutOutcome(
		claim.payout, PayoutStatus.UNKNOWN, changed=True, reason=str(error), driver=row.driver
	)


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
			return PayoutOutcome(name, PayoutStatus.UNKNOWN, reason=str(exc))
		row = read_payout(db, name)
		assert row is not None
		update_payout(
			db,
			name,
			clock(),
			**failure_values(row, LOCAL_MSISDN_CODE, f"driver's M-Pesa number: {exc}", clock(), settings),
		)
		commit()
		return PayoutOutcome(name, PayoutStatus.FAILED, changed=True, reason=str(exc), driver=claim.driver)
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
	if row is None or row.status not in PayoutStatus.IN_FLIGHT:
		return PayoutOutcome(name, row.status if row else "", reason="not Sent or Unknown")
	queried_long_ago = (
		row.status_checked_at is not None and row.status_checked_at <= now - STATUS_QUERY_INTERVAL
	)
	if row.status == PayoutStatus.UNKNOWN and not row.conversation_id and queried_long_ago:
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
	update_payout(db, name, clock(), **values)
	commit()
	return PayoutOutcome(name, locked.status, changed=True, reason=error or "status query sent")


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
