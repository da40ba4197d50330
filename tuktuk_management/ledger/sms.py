"""Sending Queued TukTuk Messages through an SMS gateway, after commit, with bounded retries.

:func:`send_queued` first makes the pending payment receipts into Queued messages
(:func:`tuktuk_management.ledger.receipts.materialize_receipts`; commit), then three units of
work, like a payout send: claim a batch (``FOR UPDATE SKIP
LOCKED`` on the message rows only, never a driver row; status Sending, attempts + 1; commit), call
the gateway for each message with no transaction open and no lock held, record every reply
(Sent, or Queued again with a backoff, or Failed after the settings' attempts; commit). A message
touches no money: a gateway failure changes nothing but the message row.

Rules applied at the claim: quiet hours (nothing is claimed; messages wait), a driver who is not
Active, opted out (``sms_opt_out``) or has no phone gets the message Skipped, and so does a
driver over the daily cap. A message left Sending by a crash is claimed again after
SENDING_STALE_AFTER (at least once: a crash between the gateway call and the record can send it
twice; SMS gateways have no idempotency key).

:class:`HttpGateway` speaks the request shape of Frappe's SMS Settings (gateway URL, message and
receiver parameters, static parameters, headers, GET/POST/JSON), the same as
``frappe.core.doctype.sms_settings.sms_settings.send_request``, with a timeout and the reply body
kept. Phone numbers are sent to the gateway and stored on the message row, nowhere else (errors
are recorded without the URL or the body of a request).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from tuktuk_management.daraja.errors import normalize_msisdn
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.messages import MESSAGE_DOCTYPE, RETRY_BASE, MessageSettings, MessageStatus
from tuktuk_management.ledger.receipts import materialize_receipts
from tuktuk_management.ledger.rows import sql_datetime

BATCH_MAX = 100
SENDING_STALE_AFTER = timedelta(minutes=10)
REPLY_CHARS_MAX = 500
GATEWAY_TIMEOUT_S = 15


@dataclass(frozen=True)
class GatewayReply:
	"""``ok``: the gateway accepted the message (HTTP 2xx); ``reply``: its status and body, short."""

	ok: bool
	reply: str


class Gateway(Protocol):
	def send(self, phone: str, text: str) -> GatewayReply: ...


@dataclass(frozen=True)
class HttpGateway:
	"""An HTTP SMS gateway configured as Frappe's SMS Settings configures one.

	url: ``sms_gateway_url``; message_parameter / receiver_parameter: the names of the text and
	the phone number parameters; parameters: the static parameters (API key, sender id...);
	headers: the header parameters; use_post: POST instead of GET; a ``Content-Type:
	application/json`` header sends the parameters as a JSON body (as Frappe does).
	"""

	url: str
	message_parameter: str
	receiver_parameter: str
	parameters: dict[str, str] = field(default_factory=dict)
	headers: dict[str, str] = field(default_factory=dict)
	use_post: bool = False
	timeout_s: float = GATEWAY_TIMEOUT_S

	def send(self, phone: str, text: str) -> GatewayReply:
		import requests

		params = {**self.parameters, self.message_parameter: text, self.receiver_parameter: phone}
		headers = {"Accept": "text/plain, text/html, */*", **self.headers}
		kwargs: dict = {"headers": headers, "timeout": self.timeout_s}
		if headers.get("Content-Type") == "application/json":
			kwargs["json"] = params
		elif self.use_post:
			kwargs["data"] = params
		else:
			kwargs["params"] = params
		try:
			response = (requests.post if self.use_post else requests.get)(self.url, **kwargs)
		except requests.RequestException as exc:
			# Never the exception text: it carries the URL, and a GET URL carries the phone number.
			return GatewayReply(False, f"{type(exc).__name__}: gateway unreachable")
		reply = f"HTTP {response.status_code}: {response.text[:REPLY_CHARS_MAX]}"
		return GatewayReply(
			200 <= response.status_code < 300 and recipients_accepted(response.text), reply[:REPLY_CHARS_MAX]
		)


# Africa's Talking answers HTTP 201 even when it refuses a recipient; the per-recipient statusCode
# says (100 Processed, 101 Sent, 102 Queued; anything else is a refusal: invalid number, no credit).
AFRICAS_TALKING_ACCEPTED = frozenset({100, 101, 102})


def recipients_accepted(body: str) -> bool:
	"""False when a JSON reply in Africa's Talking's shape (``SMSMessageData.Recipients``) refuses a
	recipient; True for any other reply (other gateways say it with the HTTP status)."""
	try:
		data = json.loads(body)
		recipients = data["SMSMessageData"]["Recipients"]
	except (ValueError, TypeError, KeyError):
		return True
	if not isinstance(recipients, list) or not recipients:
		return False
	return all(isinstance(r, dict) and r.get("statusCode") in AFRICAS_TALKING_ACCEPTED for r in recipients)


@dataclass
class SendSummary:
	sent: int = 0
	retrying: int = 0
	failed: int = 0
	skipped: int = 0
	quiet: bool = False
	materialized: int = 0

	def as_dict(self) -> dict:
		return {
			"sent": self.sent,
			"retrying": self.retrying,
			"failed": self.failed,
			"skipped": self.skipped,
			"quiet": self.quiet,
			"materialized": self.materialized,
		}


@dataclass(frozen=True)
class _Claimed:
	name: str
	driver: str
	text: str
	attempts: int  # including this one
	phone: str


def retry_at(now: datetime, attempts: int) -> datetime:
	"""When a message that failed ``attempts`` times is tried again: RETRY_BASE x 2^(attempts-1)."""
	return now + RETRY_BASE * 2 ** max(0, attempts - 1)


def send_queued(
	db: Database,
	gateway: Gateway,
	*,
	commit: Callable[[], None],
	settings: MessageSettings,
	clock: Callable[[], datetime],
	batch_max: int = BATCH_MAX,
	user: str = "Administrator",
) -> SendSummary:
	"""Make pending receipts into messages, then send up to ``batch_max`` due Queued messages; the
	counts of what happened (``materialized``: receipts made into messages by this call).

	clock: naive site time (quiet hours, the day of the daily cap, timestamps). Commits after the
	receipts (even in quiet hours or with SMS off: the messages then wait, as any Queued one), then
	twice (the claim, the record) through ``commit``; the gateway is called in between with nothing
	locked. user: the owner of the receipt messages it makes.
	"""
	summary = SendSummary()
	now = clock()
	summary.materialized = materialize_receipts(db, now=now, user=user)
	if summary.materialized:
		commit()
	if not settings.enabled:
		return summary
	if settings.is_quiet(now.time()):
		summary.quiet = True
		return summary
	claimed = _claim(db, settings, now, min(batch_max, BATCH_MAX), summary)
	commit()
	replies = [(message, _call(gateway, message)) for message in claimed]
	now = clock()
	for message, reply in replies:
		_record(db, message, reply, settings, now, summary)
	commit()
	return summary


def send_until_idle(
	db: Database,
	gateway: Gateway,
	*,
	commit: Callable[[], None],
	settings: MessageSettings,
	clock: Callable[[], datetime],
	batches_max: int,
	linger_s: float,
	poll_s: float,
	sleep: Callable[[float], None] = time.sleep,
) -> SendSummary:
	"""Batches of :func:`send_queued` until quiet hours, ``batches_max`` batches that did something,
	or ``linger_s`` seconds with nothing due since the start or the last message (looking again
	every ``poll_s``): a message committed just after a batch found nothing is still sent by this
	run. ``sleep``: how to wait (``time.sleep``). Returns the summed counts."""
	total = SendSummary()
	batches, last_activity = 0, time.monotonic()
	while batches < batches_max:
		summary = send_queued(db, gateway, commit=commit, settings=settings, clock=clock)
		for name in ("sent", "retrying", "failed", "skipped", "materialized"):
			setattr(total, name, getattr(total, name) + getattr(summary, name))
		total.quiet = summary.quiet
		if summary.quiet:
			break
		if summary.sent + summary.retrying + summary.failed + summary.skipped:
			batches, last_activity = batches + 1, time.monotonic()
		elif time.monotonic() - last_activity >= linger_s:
			break
		else:
			sleep(poll_s)
	return total


def _call(gateway: Gateway, message: _Claimed) -> GatewayReply:
	try:
		return gateway.send(message.phone, message.text)
	except Exception as exc:  # a broken gateway must not leave the batch Sending
		return GatewayReply(False, f"{type(exc).__name__}")


def _claim(
	db: Database, settings: MessageSettings, now: datetime, batch_max: int, summary: SendSummary
) -> list[_Claimed]:
	"""Lock up to ``batch_max`` due Queued messages, Skip those the rules refuse, mark the rest
	Sending (attempts + 1). Every locking read is by primary key with SKIP LOCKED: a locking read
	over the status index would also lock its gaps and make a concurrent payment's receipt INSERT
	(or another sender's status change) wait. Candidates are found first without locks."""
	at = sql_datetime(now)
	_requeue_stale(db, now, batch_max)
	rows = _lock(
		db,
		db.sql(
			f"""select name from `tab{MESSAGE_DOCTYPE}`
			where status = 'Queued' and (next_attempt_at is null or next_attempt_at <= %s)
			order by status, queued_at limit %s""",
			(at, batch_max),
		),
		"name, driver, text, attempts",
		"status = 'Queued'",
	)
	if not rows:
		return []
	facts, used = _driver_facts(db, sorted({row[1] for row in rows}), now)
	claimed: list[_Claimed] = []
	for name, driver, text, attempts in rows:
		status, opted_out, phone = facts.get(driver, (None, 0, None))
		reason = _skip_reason(status, opted_out, _phone(phone), used[driver], settings.daily_cap)
		if reason:
			db.sql(
				f"update `tab{MESSAGE_DOCTYPE}` set status = 'Skipped', last_error = %s, modified = %s where name = %s",
				(reason, at, name),
			)
			summary.skipped += 1
			continue
		used[driver] += 1
		number = _phone(phone)
		claimed.append(
			_Claimed(
				name,
				driver,
				text or "",
				int(attempts or 0) + 1,
				f"+{number}" if settings.phone_plus else number,
			)
		)
	for message in claimed:
		# One row per statement, by primary key: an UPDATE ... IN (...) on a small table may scan it
		# and wait for rows another sender holds.
		db.sql(
			f"""update `tab{MESSAGE_DOCTYPE}` set status = 'Sending', attempts = attempts + 1,
			last_attempt_at = %s, modified = %s where name = %s""",
			(at, at, message.name),
		)
	return claimed


def _requeue_stale(db: Database, now: datetime, batch_max: int) -> None:
	"""Messages left Sending by a crash for SENDING_STALE_AFTER go back to Queued (at least once)."""
	stale = _lock(
		db,
		db.sql(
			f"""select name from `tab{MESSAGE_DOCTYPE}` where status = 'Sending' and last_attempt_at < %s
			order by status, queued_at limit %s""",
			(sql_datetime(now - SENDING_STALE_AFTER), batch_max),
		),
		"name",
		"status = 'Sending'",
	)
	for (name,) in stale:
		db.sql(
			f"""update `tab{MESSAGE_DOCTYPE}` set status = 'Queued', next_attempt_at = null, modified = %s
			where name = %s""",
			(sql_datetime(now), name),
		)


def _driver_facts(db: Database, drivers: list[str], now: datetime) -> tuple[dict, Counter]:
	"""Per driver ``(status, sms_opt_out, mpesa_number)`` (no lock) and the messages Sent or Sending
	to them since midnight (the daily cap)."""
	placeholders = ", ".join(["%s"] * len(drivers))
	facts = {
		name: (status, opted_out, phone)
		for name, status, opted_out, phone in db.sql(
			f"select name, status, sms_opt_out, mpesa_number from `tabTukTuk Driver` where name in ({placeholders})",
			tuple(drivers),
		)
	}
	day_start = datetime.combine(now.date(), datetime.min.time())
	used = Counter(
		{
			driver: count
			for driver, count in db.sql(
				f"""select driver, count(*) from `tab{MESSAGE_DOCTYPE}` where driver in ({placeholders})
				and status in ('Sent', 'Sending') and last_attempt_at >= %s group by driver""",
				(*drivers, sql_datetime(day_start)),
			)
		}
	)
	return facts, used


def _skip_reason(status: str | None, opted_out, phone: str, used_today: int, daily_cap: int) -> str:
	"""Why a message is not sent (Skipped), or "" to send it."""
	if status != "Active":
		return f"driver is {status or 'missing'}"
	if opted_out:
		return "driver opted out of SMS"
	if not phone:
		return "driver has no valid phone number"
	if daily_cap and used_today >= daily_cap:
		return f"daily cap of {daily_cap} messages reached"
	return ""


def _lock(db: Database, candidates, columns: str, still: str) -> list:
	"""Lock the candidate rows by primary key (``FOR UPDATE SKIP LOCKED``) that still match
	``still``; their ``columns``, oldest first. The primary key is forced: through the status
	index the read would lock other rows' index entries, and a concurrent sender updating its own
	rows would wait for them."""
	if not candidates:
		return []
	names = [row[0] for row in candidates]
	rows = db.sql(
		f"""select {columns}, queued_at from `tab{MESSAGE_DOCTYPE}` force index (primary)
		where name in ({", ".join(["%s"] * len(names))}) and {still} for update skip locked""",
		tuple(names),
	)
	return [row[:-1] for row in sorted(rows, key=lambda row: (row[-1], row[0]))]


def _phone(value: str | None) -> str:
	try:
		return normalize_msisdn(value or "")
	except ValueError:
		return ""


def _record(
	db: Database,
	message: _Claimed,
	reply: GatewayReply,
	settings: MessageSettings,
	now: datetime,
	summary: SendSummary,
) -> None:
	at = sql_datetime(now)
	if reply.ok:
		status, next_at, error = MessageStatus.SENT, None, ""
		summary.sent += 1
	elif message.attempts >= settings.max_attempts:
		status, next_at, error = MessageStatus.FAILED, None, reply.reply
		summary.failed += 1
	else:
		status, next_at, error = (
			MessageStatus.QUEUED,
			sql_datetime(retry_at(now, message.attempts)),
			reply.reply,
		)
		summary.retrying += 1
	db.sql(
		f"""update `tab{MESSAGE_DOCTYPE}` set status = %s, phone = %s, provider_reply = %s,
		last_error = %s, next_attempt_at = %s, sent_at = %s, modified = %s
		where name = %s and status = 'Sending'""",
		(
			status,
			message.phone,
			reply.reply[:REPLY_CHARS_MAX],
			error[:REPLY_CHARS_MAX],
			next_at,
			at if reply.ok else None,
			at,
			message.name,
		),
	)
