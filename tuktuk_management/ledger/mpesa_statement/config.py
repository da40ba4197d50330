"""The statement and Daraja-check settings (TukTuk Settings, section M-Pesa Statement)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE

FIELDS = (
	"mpesa_paybill",
	"statement_payout_window_hours",
	"balance_check_enabled",
	"balance_check_accounts",
	"balance_tolerance_kes",
	"paybill_balance_offset_kes",
	"pull_transactions_enabled",
	"pull_lookback_minutes",
)
PAYOUT_WINDOW_HOURS_MAX = 24 * 31
PULL_LOOKBACK_MINUTES_MAX = 48 * 60  # Daraja keeps 48 hours


@dataclass(frozen=True)
class StatementSettings:
	"""``payout_window``: how long before a Withdrawn line its payout may have been sent.
	``balance_check_enabled``/``pull_transactions_enabled``: the scheduled Daraja checks.
	``balance_check_accounts``: the M-Pesa accounts (Account Balance names, e.g. ``Utility
	Account``) whose sum is compared with the books' paybill and b2c accounts, plus
	``paybill_balance_offset_kes`` (money at M-Pesa the books do not hold, e.g. the balance before
	the app went live); a difference beyond ``balance_tolerance_kes`` alerts.
	``pull_lookback``: how far back each Pull Transactions query reaches."""

	paybill: str = ""
	payout_window: timedelta = timedelta(hours=48)
	balance_check_enabled: bool = False
	balance_check_accounts: tuple[str, ...] = ("Utility Account",)
	balance_tolerance_kes: Decimal = Decimal(0)
	paybill_balance_offset_kes: Decimal = Decimal(0)
	pull_transactions_enabled: bool = False
	pull_lookback: timedelta = timedelta(minutes=90)


def _decimal(value, default: Decimal) -> Decimal:
	try:
		return Decimal(str(value).strip()) if value not in (None, "") else default
	except InvalidOperation:
		return default


def load_statement_settings(db: Database) -> StatementSettings:
	rows = db.sql(
		f"select field, value from `tabSingles` where doctype = %s and field in ({', '.join(['%s'] * len(FIELDS))})",
		(SETTINGS_DOCTYPE, *FIELDS),
	)
	values = dict(rows)
	hours = int(_decimal(values.get("statement_payout_window_hours"), Decimal(48)))
	minutes = int(_decimal(values.get("pull_lookback_minutes"), Decimal(90)))
	accounts = tuple(
		line.strip() for line in str(values.get("balance_check_accounts") or "").splitlines() if line.strip()
	)
	return StatementSettings(
		paybill=str(values.get("mpesa_paybill") or "").strip(),
		payout_window=timedelta(hours=max(1, min(hours, PAYOUT_WINDOW_HOURS_MAX))),
		balance_check_enabled=str(values.get("balance_check_enabled") or "0") == "1",
		balance_check_accounts=accounts or ("Utility Account",),
		balance_tolerance_kes=abs(_decimal(values.get("balance_tolerance_kes"), Decimal(0))),
		paybill_balance_offset_kes=_decimal(values.get("paybill_balance_offset_kes"), Decimal(0)),
		pull_transactions_enabled=str(values.get("pull_transactions_enabled") or "0") == "1",
		pull_lookback=timedelta(minutes=max(5, min(minutes, PULL_LOOKBACK_MINUTES_MAX))),
	)
