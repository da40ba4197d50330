"""Driver rules shared by the TukTuk Driver controller and the standalone loader."""

from __future__ import annotations

from tuktuk_management.ledger.c2b import SUNNY_ID_PATTERN
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.settings import LedgerSettings

LEDGER_MAINTAINED_FIELDS = (
	"current_balance",
	"left_to_target",
	"current_deposit_balance",
	"payout_pending",
	"consecutive_misses",
	"target_rollover",
	"last_close_date",
)


def normalize_sunny_id(value: str | None) -> str:
	"""Trimmed, upper-cased Sunny ID; raises ValueError unless it is ``D`` + six digits."""
	sunny_id = (value or "").strip().upper()
	if not SUNNY_ID_PATTERN.match(sunny_id):
		raise ValueError(f"Sunny ID must be D followed by six digits (for example D000123), not {value!r}")
	return sunny_id


def normalize_account(value: str | None) -> str:
	"""A vehicle's ``mpesa_account`` as customers' BillRefNumber is matched: trimmed, upper-cased."""
	account = (value or "").strip().upper()
	if not account:
		raise ValueError("M-Pesa account number is required")
	if len(account) > 20:
		raise ValueError("M-Pesa account number must be at most 20 characters")
	if SUNNY_ID_PATTERN.match(account):
		raise ValueError(
			f"M-Pesa account number {account} looks like a driver's Sunny ID (D + six digits); "
			"payments to it would be taken as repayments. Choose another account number."
		)
	return account


def refresh_left_to_target(db: Database, settings: LedgerSettings, driver: str | None = None) -> None:
	"""Recompute ``left_to_target = max(0, T - current_balance)`` (set-based; one driver or all).

	T is the driver's ``daily_target`` if > 0, else ``global_daily_target``, plus the driver's
	``target_rollover`` (shortfall carried by the daily close). Call it with the
	driver row locked (or from a job that owns every row) after a target changes.
	"""
	db.sql(
		"""update `tabTukTuk Driver` set left_to_target = greatest(0,
			(case when daily_target > 0 then daily_target else %s end) + greatest(0, target_rollover)
			- current_balance)"""
		+ (" where name = %s" if driver else ""),
		(settings.global_daily_target_kes,) + ((driver,) if driver else ()),
	)
