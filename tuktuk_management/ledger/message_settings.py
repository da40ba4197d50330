"""The ``messaging_section`` of TukTuk Settings as the messaging core reads it: switches, reminder
slots, quiet hours, limits and templates (defaults when a field is empty)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, parse_time

DEFAULT_RECEIPT_TEMPLATE = (
	"TukTuk: KES {{ amount_kes }} received ({{ trans_id }}). {% if repayment %}KES {{ deposit_kes }} "
	"to your deposit.{% else %}Your share KES {{ share_kes }}.{% endif %} {% if target_met %}Today's "
	"target met.{% else %}KES {{ left_kes }} left to today's target.{% endif %}"
)
DEFAULT_REMINDER_TEMPLATE = (
	"TukTuk: KES {{ left_kes }} left to today's target of KES {{ target_kes }} "
	"(collected KES {{ collected_kes }})."
)
DEFAULT_SUMMARY_TEMPLATE = (
	"TukTuk {{ business_date }}: {% if target_met %}target met, KES {{ collected_kes }} collected."
	"{% else %}target missed by KES {{ shortfall_kes }} ({{ misses }} in a row).{% endif %} Tomorrow's "
	"target KES {{ next_target_kes }}.{% if miss_warning %} Warning: {{ misses }} misses reach the limit "
	"of {{ miss_limit }}.{% endif %}"
)
DEFAULT_PAYOUT_TEMPLATE = (
	"TukTuk: payout of KES {{ amount_kes }} {% if paid %}sent to your M-Pesa ({{ receipt }})."
	"{% else %}failed; it stays in your payable and will be retried.{% endif %}"
)
DEFAULT_REMINDER_TIMES = (time(13, 0), time(18, 0), time(22, 0))
DEFAULT_QUIET_START = time(22, 30)
DEFAULT_QUIET_END = time(6, 0)
DEFAULT_DAILY_CAP = 20
DEFAULT_MAX_ATTEMPTS = 3
ATTEMPTS_CAP = 10
RETRY_BASE = timedelta(minutes=2)

_FIELDS = (
	"sms_enabled",
	"sms_receipts_enabled",
	"sms_reminders_enabled",
	"sms_reminder_times",
	"sms_summary_enabled",
	"sms_payout_messages_enabled",
	"sms_quiet_hours_start",
	"sms_quiet_hours_end",
	"sms_daily_cap",
	"sms_max_attempts",
	"sms_phone_plus",
	"sms_receipt_template",
	"sms_reminder_template",
	"sms_summary_template",
	"sms_payout_template",
	"miss_limit",
)


@dataclass(frozen=True)
class MessageSettings:
	"""The ``messaging_section`` of TukTuk Settings (switches, slots, limits, templates)."""

	enabled: bool = False
	receipts: bool = False
	reminders: bool = False
	reminder_times: tuple[time, ...] = DEFAULT_REMINDER_TIMES
	summaries: bool = False
	payout_messages: bool = False
	quiet_start: time = DEFAULT_QUIET_START
	quiet_end: time = DEFAULT_QUIET_END
	daily_cap: int = DEFAULT_DAILY_CAP  # 0 = no cap
	max_attempts: int = DEFAULT_MAX_ATTEMPTS
	phone_plus: bool = True  # numbers sent as +2547XXXXXXXX (else 2547XXXXXXXX)
	receipt_template: str = DEFAULT_RECEIPT_TEMPLATE
	reminder_template: str = DEFAULT_REMINDER_TEMPLATE
	summary_template: str = DEFAULT_SUMMARY_TEMPLATE
	payout_template: str = DEFAULT_PAYOUT_TEMPLATE
	miss_limit: int = 0

	def is_quiet(self, at: time) -> bool:
		"""True inside quiet hours [start, end) (crossing midnight when start > end)."""
		start, end = self.quiet_start, self.quiet_end
		if start == end:
			return False
		if start < end:
			return start <= at < end
		return at >= start or at < end


def load_message_settings(db: Database) -> MessageSettings:
	"""Read the messaging fields of TukTuk Settings in one query; missing values take defaults."""
	rows = db.sql(
		f"select field, value from `tabSingles` where doctype = %s and field in ({', '.join(['%s'] * len(_FIELDS))})",
		(SETTINGS_DOCTYPE, *_FIELDS),
	)
	values = dict(rows)

	def check(field: str) -> bool:
		return str(values.get(field) or "0").strip() in ("1", "1.0")

	def integer(field: str, default: int) -> int:
		try:
			return int(str(values[field]).split(".")[0]) if values.get(field) not in (None, "") else default
		except ValueError:
			return default

	enabled = check("sms_enabled")
	return MessageSettings(
		enabled=enabled,
		receipts=enabled and check("sms_receipts_enabled"),
		reminders=enabled and check("sms_reminders_enabled"),
		reminder_times=parse_times(values.get("sms_reminder_times")),
		summaries=enabled and check("sms_summary_enabled"),
		payout_messages=enabled and check("sms_payout_messages_enabled"),
		quiet_start=parse_time(values.get("sms_quiet_hours_start"), DEFAULT_QUIET_START),
		quiet_end=parse_time(values.get("sms_quiet_hours_end"), DEFAULT_QUIET_END),
		daily_cap=max(0, integer("sms_daily_cap", DEFAULT_DAILY_CAP)),
		max_attempts=min(ATTEMPTS_CAP, max(1, integer("sms_max_attempts", DEFAULT_MAX_ATTEMPTS))),
		phone_plus=str(values.get("sms_phone_plus", "1") or "0").strip() in ("1", "1.0"),
		receipt_template=values.get("sms_receipt_template") or DEFAULT_RECEIPT_TEMPLATE,
		reminder_template=values.get("sms_reminder_template") or DEFAULT_REMINDER_TEMPLATE,
		summary_template=values.get("sms_summary_template") or DEFAULT_SUMMARY_TEMPLATE,
		payout_template=values.get("sms_payout_template") or DEFAULT_PAYOUT_TEMPLATE,
		miss_limit=max(0, integer("miss_limit", 0)),
	)


def parse_times(text: str | None) -> tuple[time, ...]:
	"""``"13:00, 18:00, 22:00"`` as sorted distinct times; None gives the defaults, "" none.

	Raises ValueError naming an entry that is not a time of day.
	"""
	if text is None:
		return DEFAULT_REMINDER_TIMES
	times = set()
	for entry in text.replace(";", ",").replace("\n", ",").split(","):
		entry = entry.strip()
		if not entry:
			continue
		parsed = parse_time(entry, None)
		if parsed is None:
			raise ValueError(f"not a time of day: {entry!r}")
		times.add(parsed)
	return tuple(sorted(times))
