"""Driver messages (SMS) as an outbox: TukTuk Message rows written with what causes them (DESIGN §9).

A message is one INSERT in the transaction of the event it reports (a payment's receipt is the one
exception: it is written on the payment's own row and made into a message by the SMS sender, see
:mod:`tuktuk_management.ledger.receipts`), keyed by an idempotency key
(``receipt:<TransID>``, ``reminder:<driver>:<date>:<slot>``, ``summary:<driver>:<date>``,
``payout-sent:<payout>``, ``broadcast:<id>:<driver>``): a second message with the same key is
never written. Nothing here talks to a gateway; :mod:`tuktuk_management.ledger.sms` sends the
Queued rows after commit. Texts are rendered here with Jinja from the driver's own figures only
(no names, no phone numbers: the phone is looked up when the message is sent).

Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.rows import STANDARD_COLUMNS, sql_datetime
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.split import Split, effective_target_kes
from tuktuk_management.ledger.writer import new_name

MESSAGE_DOCTYPE = "TukTuk Message"
TEXT_CHARS_MAX = 459  # three concatenated GSM-7 SMS parts (153 characters each)
INSERT_ROWS_MAX = 500  # rows per multi-row INSERT of reminders, summaries and broadcasts
REMINDER_GRACE = timedelta(hours=2)  # a slot missed by a stopped scheduler is sent this late at most
# Only Active drivers are messaged: nothing is queued for an Inactive, Suspended or Terminated
# driver (receipts: a payment to a driver who is not Active goes to suspense, which gets none), and
# a message queued before the driver left Active is Skipped by the sender.
MESSAGED_DRIVER_STATUS = "Active"


class MessageStatus:
	QUEUED = "Queued"
	SENDING = "Sending"  # handed to the gateway, reply not recorded yet
	SENT = "Sent"
	FAILED = "Failed"  # gateway refused or unreachable after the settings' attempts
	SKIPPED = "Skipped"  # not sent: opted out, not Active, no phone, daily cap
	ALL = (QUEUED, SENDING, SENT, FAILED, SKIPPED)


class MessageKind:
	RECEIPT = "Receipt"
	REMINDER = "Reminder"
	SUMMARY = "Day Summary"
	PAYOUT_SENT = "Payout Sent"
	PAYOUT_FAILED = "Payout Failed"
	BROADCAST = "Broadcast"
	ALL = (RECEIPT, REMINDER, SUMMARY, PAYOUT_SENT, PAYOUT_FAILED, BROADCAST)


from tuktuk_management.ledger.message_settings import (
	ATTEMPTS_CAP,
	DEFAULT_PAYOUT_TEMPLATE,
	DEFAULT_RECEIPT_TEMPLATE,
	DEFAULT_REMINDER_TEMPLATE,
	DEFAULT_SUMMARY_TEMPLATE,
	RETRY_BASE,
	MessageSettings,
	load_message_settings,
	parse_times,
)

# --- rendering -----------------------------------------------------------------------------------

_ENVIRONMENT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class TemplateInvalid(ValueError):
	"""A template that does not compile or uses a name the figures do not have."""


@lru_cache(maxsize=64)
def _compiled(template_text: str):
	return _ENVIRONMENT.from_string(template_text)


def render(template_text: str, figures: dict) -> str:
	"""The message text: ``template_text`` (Jinja, sandboxed) rendered with ``figures``, whitespace
	collapsed, cut to TEXT_CHARS_MAX characters. Raises :class:`TemplateInvalid`."""
	try:
		text = _compiled(template_text).render(**figures)
	except TemplateError as exc:
		raise TemplateInvalid(f"message template: {exc}") from exc
	return " ".join(text.split())[:TEXT_CHARS_MAX]


def check_template(template_text: str, figures: dict) -> None:
	"""Raise :class:`TemplateInvalid` unless the template renders with these sample figures."""
	render(template_text, figures)


def receipt_figures(trans_id: str, kind: str, split: Split, target_kes: int) -> dict:
	"""A payment's figures for the receipt: the split and the driver's target after it.

	target_kes: the driver's effective target T; ``split.balance_kes_after`` is the driver's
	target balance after the payment, so ``left_kes = max(0, T - balance after)``.
	"""
	left_kes = max(0, target_kes - split.balance_kes_after)
	return {
		"trans_id": trans_id,
		"repayment": kind == "Repayment",
		"amount_kes": split.amount_kes,
		"share_kes": split.driver_share_kes,
		"target_contribution_kes": split.target_contribution_kes,
		"deposit_kes": split.deposit_contribution_kes,
		"target_kes": target_kes,
		"left_kes": left_kes,
		"target_met": left_kes == 0,
	}


SAMPLE_FIGURES = {
	"receipt": receipt_figures("SAMPLE0001", "Payment", Split(200, 100, 100, 0, 1100), 3000),
	"reminder": {
		"left_kes": 1900,
		"target_kes": 3000,
		"collected_kes": 1100,
		"rollover_kes": 0,
		"misses": 0,
		"slot": "13:00",
	},
	"summary": {
		"business_date": "2026-11-21",
		"target_met": False,
		"collected_kes": 2500,
		"target_kes": 3000,
		"shortfall_kes": 500,
		"misses": 3,
		"miss_limit": 3,
		"miss_warning": True,
		"next_target_kes": 3500,
	},
	"payout": {"amount_kes": 100, "paid": True, "receipt": "SAMPLE0001"},
}


# --- writing -------------------------------------------------------------------------------------

MESSAGE_COLUMNS = (
	"driver",
	"kind",
	"status",
	"idempotency_key",
	"text",
	"transaction",
	"queued_at",
	"attempts",
)


@dataclass(frozen=True)
class NewMessage:
	driver: str
	kind: str
	key: str
	text: str
	transaction: str | None = None


@lru_cache(maxsize=16)
def insert_messages(rows: int) -> str:
	"""INSERT of ``rows`` messages; a row whose idempotency key exists is left as it is.

	``on duplicate key update`` with a no-op rather than ``insert ignore``: only a duplicate key is
	ignored, any other error (a value too long, a missing column) still fails the statement.
	"""
	assert 1 <= rows <= INSERT_ROWS_MAX
	columns = ", ".join(f"`{column}`" for column in STANDARD_COLUMNS + MESSAGE_COLUMNS)
	# name, creation, modified, modified_by, owner, docstatus 0, idx 0, driver, kind, status,
	# idempotency_key, text, transaction, queued_at, attempts 0
	row = "(%s, %s, %s, %s, %s, 0, 0, %s, %s, 'Queued', %s, %s, %s, %s, 0)"
	return (
		f"insert into `tab{MESSAGE_DOCTYPE}` ({columns}) values {', '.join([row] * rows)} "
		"on duplicate key update `idempotency_key` = `idempotency_key`"
	)


def row_values(message: NewMessage, at, user: str, *, queued_at=None) -> tuple:
	"""The values of one message for :func:`insert_messages`; ``queued_at`` defaults to ``at``."""
	assert message.kind in MessageKind.ALL, message.kind
	assert message.driver and message.key
	return (
		new_name(),
		at,
		at,
		user,
		user,
		message.driver,
		message.kind,
		message.key[:140],
		message.text[:TEXT_CHARS_MAX],
		message.transaction,
		queued_at or at,
	)


def queue_messages(db: Database, messages: Iterable[NewMessage], *, now: datetime, user: str) -> int:
	"""Insert Queued messages (multi-row INSERTs of at most INSERT_ROWS_MAX); keys already present
	are skipped. Returns how many rows were offered. Never commits."""
	at = sql_datetime(now)
	batch: list[NewMessage] = []
	offered = 0
	for message in messages:
		batch.append(message)
		if len(batch) == INSERT_ROWS_MAX:
			offered += _flush(db, batch, at, user)
	offered += _flush(db, batch, at, user)
	return offered


def _flush(db: Database, batch: list[NewMessage], at, user: str) -> int:
	if not batch:
		return 0
	values: list = []
	for message in batch:
		values += row_values(message, at, user)
	db.sql(insert_messages(len(batch)), tuple(values))
	count = len(batch)
	batch.clear()
	return count


# --- reminders, summaries, broadcasts ---------------------------------------------------------------


def due_slot(now: datetime, times: tuple[time, ...], close_time: time) -> time | None:
	"""The reminder slot due at ``now``: the latest configured time at or before now, if it passed at
	most REMINDER_GRACE ago and is before the daily close time (after the close the day is over)."""
	due = [slot for slot in times if slot <= now.time() and slot < close_time]
	if not due:
		return None
	slot = due[-1]
	if now - datetime.combine(now.date(), slot) > REMINDER_GRACE:
		return None
	return slot


def queue_target_reminders(
	db: Database, *, settings: LedgerSettings, messages: MessageSettings, now: datetime, user: str
) -> int:
	"""Queue one reminder per Active, assigned driver still behind today's target for the slot due now
	(key ``reminder:<driver>:<date>:<HHMM>``): running twice for a slot queues nothing more.

	Reads the drivers without locks: a reminder is advice, and a payment landing meanwhile only makes
	the figure a little old. Returns the number of drivers offered a reminder (0 when none is due).
	"""
	if not messages.reminders:
		return 0
	slot = due_slot(now, messages.reminder_times, settings.daily_close_time)
	if slot is None:
		return 0
	rows = db.sql(
		"""select name, daily_target, target_rollover, current_balance, consecutive_misses
		from `tabTukTuk Driver` where status = 'Active' and ifnull(assigned_tuktuk, '') != ''
		and sms_opt_out = 0 order by name"""
	)
	slot_text = slot.strftime("%H:%M")
	wanted = []
	for name, daily_target, rollover, balance, misses in rows:
		target_kes = effective_target_kes(
			to_kes(daily_target), settings.global_daily_target_kes, to_kes(rollover)
		)
		collected_kes = to_kes(balance)
		left_kes = max(0, target_kes - collected_kes)
		if not left_kes:
			continue
		figures = {
			"left_kes": left_kes,
			"target_kes": target_kes,
			"collected_kes": collected_kes,
			"rollover_kes": to_kes(rollover),
			"misses": int(misses or 0),
			"slot": slot_text,
		}
		text = render(messages.reminder_template, figures)
		key = f"reminder:{name}:{now.date().isoformat()}:{slot.strftime('%H%M')}"
		wanted.append(NewMessage(name, MessageKind.REMINDER, key, text))
	return queue_messages(db, wanted, now=now, user=user)


def queue_day_summaries(
	db: Database,
	*,
	business_date: date,
	settings: LedgerSettings,
	messages: MessageSettings,
	now: datetime,
	user: str,
) -> int:
	"""Queue the day-end summary of every driver judged by the close of ``business_date`` (key
	``summary:<driver>:<date>``), from the TukTuk Daily Close rows (no "target missed" text on a
	day off or a day a substitute drove). Idempotent."""
	if not messages.summaries:
		return 0
	rows = db.sql(
		"""select c.driver, c.target_met, c.consecutive_misses, c.target_kes, c.collected_kes,
			c.shortfall_kes, c.rollover_kes, d.daily_target
		from `tabTukTuk Daily Close` c join `tabTukTuk Driver` d on d.name = c.driver
		where c.business_date = %s and d.status = 'Active' and c.judged = 1 order by c.driver""",
		(business_date,),
	)
	wanted = []
	for driver, met, misses, target, collected, shortfall, rollover, daily_target in rows:
		base_kes = effective_target_kes(to_kes(daily_target), settings.global_daily_target_kes)
		misses = int(misses or 0)
		figures = {
			"business_date": business_date.isoformat(),
			"target_met": bool(met),
			"collected_kes": to_kes(collected),
			"target_kes": to_kes(target),
			"shortfall_kes": to_kes(shortfall),
			"misses": misses,
			"miss_limit": messages.miss_limit,
			"miss_warning": bool(messages.miss_limit and misses >= messages.miss_limit),
			"next_target_kes": base_kes + (0 if met else to_kes(rollover)),
		}
		text = render(messages.summary_template, figures)
		wanted.append(
			NewMessage(driver, MessageKind.SUMMARY, f"summary:{driver}:{business_date.isoformat()}", text)
		)
	return queue_messages(db, wanted, now=now, user=user)


def queue_payout_message(
	db: Database,
	*,
	payout: str,
	driver: str,
	amount_kes: int,
	paid: bool,
	receipt: str,
	messages: MessageSettings,
	now: datetime,
	user: str,
) -> bool:
	"""Queue "payout sent" (key ``payout-sent:<payout>``) or "payout failed" (``payout-failed:<payout>``,
	once per payout however often it fails). One INSERT; False when the switch is off."""
	if not messages.payout_messages:
		return False
	figures = {"amount_kes": amount_kes, "paid": paid, "receipt": receipt}
	kind = MessageKind.PAYOUT_SENT if paid else MessageKind.PAYOUT_FAILED
	key = f"{'payout-sent' if paid else 'payout-failed'}:{payout}"
	queue_messages(
		db, [NewMessage(driver, kind, key, render(messages.payout_template, figures))], now=now, user=user
	)
	return True


def queue_payout_outcome(
	db: Database, payout: str, *, messages: MessageSettings, now: datetime, user: str
) -> bool:
	"""After a B2C result was applied (same transaction): "payout sent" if the payout is now Paid,
	"payout failed" if Failed, nothing otherwise, and nothing to a driver who is not Active (a
	Terminated driver's last payout sends no text). True if a message was offered."""
	if not messages.payout_messages:
		return False
	rows = db.sql(
		"""select p.driver, p.amount, p.status, p.receipt, d.status from `tabTukTuk Payout` p
		left join `tabTukTuk Driver` d on d.name = p.driver where p.name = %s""",
		(payout,),
	)
	if not rows or rows[0][2] not in ("Paid", "Failed") or rows[0][4] != MESSAGED_DRIVER_STATUS:
		return False
	driver, amount, status, receipt, _driver_status = rows[0]
	return queue_payout_message(
		db,
		payout=payout,
		driver=driver,
		amount_kes=to_kes(amount),
		paid=status == "Paid",
		receipt=receipt or "",
		messages=messages,
		now=now,
		user=user,
	)


@dataclass(frozen=True)
class BroadcastPreview:
	"""Who a broadcast reaches and what it says: ``drivers`` (names), ``text``."""

	drivers: list[str]
	text: str

	@property
	def count(self) -> int:
		return len(self.drivers)


def broadcast_recipients(
	db: Database, *, drivers: list[str] | None = None, vehicle_assigned_only: bool = False
) -> list[str]:
	"""Active drivers who have not opted out, optionally only the named ones or those with a vehicle."""
	query = "select name from `tabTukTuk Driver` where status = 'Active' and sms_opt_out = 0"
	values: list = []
	if drivers is not None:
		if not drivers:
			return []
		query += f" and name in ({', '.join(['%s'] * len(drivers))})"
		values += drivers
	if vehicle_assigned_only:
		query += " and ifnull(assigned_tuktuk, '') != ''"
	return [row[0] for row in db.sql(query + " order by name", tuple(values))]


def preview_broadcast(db: Database, text: str, **filters) -> BroadcastPreview:
	"""The recipients and the text as it will be sent (plain text, cut to TEXT_CHARS_MAX)."""
	clean = " ".join((text or "").split())[:TEXT_CHARS_MAX]
	if not clean:
		raise ValueError("a broadcast needs a text")
	return BroadcastPreview(broadcast_recipients(db, **filters), clean)


def queue_broadcast(
	db: Database, preview: BroadcastPreview, *, broadcast_id: str, now: datetime, user: str
) -> int:
	"""Queue one Broadcast message per previewed driver (key ``broadcast:<id>:<driver>``): sending
	the same broadcast id twice queues nothing more. Returns the number of drivers."""
	assert broadcast_id
	return queue_messages(
		db,
		(
			NewMessage(driver, MessageKind.BROADCAST, f"broadcast:{broadcast_id}:{driver}", preview.text)
			for driver in preview.drivers
		),
		now=now,
		user=user,
	)
