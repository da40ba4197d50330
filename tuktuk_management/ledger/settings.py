"""TukTuk Settings as the core reads them, straight from ``tabSingles`` (same SQL under Frappe)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import time
from decimal import Decimal

from tuktuk_management.ledger import doctypes
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes, to_percent

SETTINGS_DOCTYPE = doctypes.SETTINGS
DEFAULT_TIMEZONE = "Africa/Nairobi"
DEFAULT_GLOBAL_DAILY_TARGET_KES = 3000
DEFAULT_GLOBAL_FARE_PERCENTAGE = Decimal(50)
DEFAULT_DAILY_CLOSE_TIME = time(23, 59)
DEFAULT_RECONCILIATION_TIME = time(2, 0)
DEFAULT_MISS_LIMIT = 3
DEFAULT_JOURNAL_MAX_LINES = 20
DEFAULT_JOURNAL_MAX_LINE_AMOUNT_KES = 100_000
JOURNAL_MAX_LINES_CAP = 50  # whatever the settings say: a journal and its reversal stay small
DEFAULT_PAYOUT_MAX_ATTEMPTS = 5
DEFAULT_PAYOUT_RETRY_BACKOFF_MINUTES = 10
DEFAULT_B2C_COMMAND_ID = "BusinessPayment"
# Callback security: what `bench setup production` deploys is one proxy (nginx) in front of the
# app, with `proxy_set_header X-Forwarded-For $remote_addr` (bench/config/templates/nginx.conf).
DEFAULT_TRUSTED_PROXY_COUNT = 1
TRUSTED_PROXY_COUNT_MAX = 10
DEFAULT_REFUSED_CALLS_STORED_PER_MINUTE = 20


@dataclass(frozen=True)
class LedgerSettings:
	"""The non-secret settings the money rules need.

	Sources: TukTuk Settings fields ``global_daily_target`` (KES), ``global_fare_percentage``
	(driver's share, percent), ``mpesa_paybill`` (expected BusinessShortCode, "" = not checked),
	``processing_paused``, ``allowed_callback_ips``, ``journal_max_lines`` and
	``journal_max_line_amount_kes`` (manual journal limits, KES); the site time zone is System Settings
	``time_zone`` (default Africa/Nairobi).
	"""

	global_daily_target_kes: int = DEFAULT_GLOBAL_DAILY_TARGET_KES
	global_fare_percentage: Decimal = DEFAULT_GLOBAL_FARE_PERCENTAGE
	mpesa_paybill: str = ""
	processing_paused: bool = False
	allowed_callback_ips: str = ""
	site_timezone: str = DEFAULT_TIMEZONE
	# Daily close and reconciliation: TukTuk Settings ``daily_close_time``,
	# ``miss_limit`` (days, 0 = no alert), ``deduct_shortfall_from_deposit``,
	# ``reconciliation_time``, ``reconciliation_recipients`` (one email per line).
	daily_close_time: time = DEFAULT_DAILY_CLOSE_TIME
	miss_limit: int = DEFAULT_MISS_LIMIT
	deduct_shortfall_from_deposit: bool = False
	reconciliation_time: time = DEFAULT_RECONCILIATION_TIME
	reconciliation_recipients: str = ""
	journal_max_lines: int = DEFAULT_JOURNAL_MAX_LINES
	journal_max_line_amount_kes: int = DEFAULT_JOURNAL_MAX_LINE_AMOUNT_KES
	# B2C payouts: ``instant_payouts_enabled``, ``payout_max_attempts``,
	# ``payout_retry_backoff_minutes``, ``b2c_command_id``.
	instant_payouts_enabled: bool = True
	payout_max_attempts: int = DEFAULT_PAYOUT_MAX_ATTEMPTS
	payout_retry_backoff_minutes: int = DEFAULT_PAYOUT_RETRY_BACKOFF_MINUTES
	b2c_command_id: str = DEFAULT_B2C_COMMAND_ID
	# Callback security: ``trusted_proxy_count`` (proxies in front, 0 = none) and
	# ``refused_calls_stored_per_minute`` (per source address; see ledger/callback_guard.py).
	trusted_proxy_count: int = DEFAULT_TRUSTED_PROXY_COUNT
	refused_calls_stored_per_minute: int = DEFAULT_REFUSED_CALLS_STORED_PER_MINUTE
	# Payment receipts by SMS (read here because the payment path queues them): on only when both
	# ``sms_enabled`` and ``sms_receipts_enabled`` are; ``sms_receipt_template`` ("" = the default).
	sms_receipts_enabled: bool = False
	sms_receipt_template: str = ""


def load_settings(db: Database) -> LedgerSettings:
	"""Read TukTuk Settings and the site time zone in one query; missing values take defaults."""
	rows = db.sql(
		"""select doctype, field, value from `tabSingles`
		where (doctype = %s and field in ('global_daily_target', 'global_fare_percentage',
			'mpesa_paybill', 'processing_paused', 'allowed_callback_ips', 'journal_max_lines',
			'journal_max_line_amount_kes', 'daily_close_time', 'miss_limit',
			'deduct_shortfall_from_deposit', 'reconciliation_time', 'reconciliation_recipients', 'instant_payouts_enabled',
			'payout_max_attempts', 'payout_retry_backoff_minutes', 'b2c_command_id',
			'trusted_proxy_count', 'refused_calls_stored_per_minute',
			'sms_enabled', 'sms_receipts_enabled', 'sms_receipt_template'))
		or (doctype = 'System Settings' and field = 'time_zone')""",
		(SETTINGS_DOCTYPE,),
	)
	values = {(doctype, field): value for doctype, field, value in rows}
	settings_value = {
		field: value for (doctype, field), value in values.items() if doctype == SETTINGS_DOCTYPE
	}
	target_kes = to_kes(settings_value.get("global_daily_target") or DEFAULT_GLOBAL_DAILY_TARGET_KES)
	fare_percentage = to_percent(
		settings_value.get("global_fare_percentage") or DEFAULT_GLOBAL_FARE_PERCENTAGE
	)
	return LedgerSettings(
		global_daily_target_kes=target_kes,
		global_fare_percentage=fare_percentage,
		mpesa_paybill=(settings_value.get("mpesa_paybill") or "").strip(),
		processing_paused=_check(settings_value.get("processing_paused"), default=False),
		allowed_callback_ips=settings_value.get("allowed_callback_ips") or "",
		site_timezone=values.get(("System Settings", "time_zone")) or DEFAULT_TIMEZONE,
		daily_close_time=parse_time(settings_value.get("daily_close_time"), DEFAULT_DAILY_CLOSE_TIME),
		miss_limit=max(0, parse_count(settings_value.get("miss_limit"), DEFAULT_MISS_LIMIT)),
		deduct_shortfall_from_deposit=_check(
			settings_value.get("deduct_shortfall_from_deposit"), default=False
		),
		reconciliation_time=parse_time(
			settings_value.get("reconciliation_time"), DEFAULT_RECONCILIATION_TIME
		),
		reconciliation_recipients=settings_value.get("reconciliation_recipients") or "",
		journal_max_lines=min(
			JOURNAL_MAX_LINES_CAP,
			parse_count(settings_value.get("journal_max_lines"), DEFAULT_JOURNAL_MAX_LINES),
		),
		journal_max_line_amount_kes=to_kes(
			settings_value.get("journal_max_line_amount_kes") or DEFAULT_JOURNAL_MAX_LINE_AMOUNT_KES
		),
		instant_payouts_enabled=_check(settings_value.get("instant_payouts_enabled"), default=True),
		payout_max_attempts=parse_count(
			settings_value.get("payout_max_attempts"), DEFAULT_PAYOUT_MAX_ATTEMPTS
		),
		payout_retry_backoff_minutes=parse_count(
			settings_value.get("payout_retry_backoff_minutes"), DEFAULT_PAYOUT_RETRY_BACKOFF_MINUTES
		),
		b2c_command_id=(settings_value.get("b2c_command_id") or DEFAULT_B2C_COMMAND_ID).strip(),
		trusted_proxy_count=min(
			TRUSTED_PROXY_COUNT_MAX,
			max(0, parse_count(settings_value.get("trusted_proxy_count"), DEFAULT_TRUSTED_PROXY_COUNT)),
		),
		refused_calls_stored_per_minute=max(
			0,
			parse_count(
				settings_value.get("refused_calls_stored_per_minute"), DEFAULT_REFUSED_CALLS_STORED_PER_MINUTE
			),
		),
		sms_receipts_enabled=_check(settings_value.get("sms_enabled"), default=False)
		and _check(settings_value.get("sms_receipts_enabled"), default=False),
		sms_receipt_template=settings_value.get("sms_receipt_template") or "",
	)


def parse_time(value, default: time) -> time:
	"""A Time field value (``"23:59:00"``, ``"2:00"``, ``"23:59:00.000000"``) as a ``time``;
	empty or unparsable values give ``default``."""
	text = str(value or "").strip()
	try:
		parts = [int(part.split(".")[0]) for part in text.split(":")]
		return time(*parts[:3])
	except (TypeError, ValueError):
		return default


def parse_recipients(text: str) -> list[str]:
	"""``reconciliation_recipients`` (one email per line, or comma separated) as a list."""
	return [entry.strip() for entry in (text or "").replace(",", "\n").splitlines() if entry.strip()]


def _check(value: str | None, *, default: bool) -> bool:
	"""A Check field stored in ``tabSingles`` ("1", "0", "1.0"); None/"" take ``default``."""
	if value is None or str(value).strip() == "":
		return default
	return str(value).strip() in ("1", "1.0")


def parse_count(value: str | None, default: int) -> int:
	"""A count (days, lines, attempts, minutes) stored in an Int field of ``tabSingles`` ("3",
	"3.0"); missing or unreadable values take ``default``. Amounts go through ``to_kes`` instead."""
	try:
		return int(str(value).strip().split(".")[0]) if value not in (None, "") else default
	except ValueError:
		return default


def at_miss_limit(consecutive_misses: int, miss_limit: int) -> bool:
	"""The miss-limit rule, everywhere (close alert, desk cards, driver form): a driver is at the
	limit once ``consecutive_misses >= miss_limit``; a ``miss_limit`` of 0 means no alert."""
	return miss_limit > 0 and consecutive_misses >= miss_limit


def parse_ip_allowlist(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
	"""``allowed_callback_ips`` (one IP or CIDR per line or comma separated) as networks.

	Raises ValueError naming the first entry that is not an IP address or network.
	"""
	networks = []
	for entry in text.replace(",", "\n").splitlines():
		entry = entry.strip()
		if entry:
			try:
				networks.append(ipaddress.ip_network(entry, strict=False))
			except ValueError as exc:
				raise ValueError(f"not an IP address or network: {entry!r}") from exc
	return networks


def ip_allowed(source_ip: str | None, allowlist_text: str) -> bool:
	"""True if the allowlist is empty or ``source_ip`` falls in one of its networks."""
	networks = parse_ip_allowlist(allowlist_text)
	if not networks:
		return True
	try:
		address = ipaddress.ip_address((source_ip or "").strip())
	except ValueError:
		return False
	return any(address in network for network in networks)
