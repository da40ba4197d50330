"""The settings of deposits, withdrawals and the payout sweep (TukTuk Settings, section
"Deposits and Payouts"), read straight from ``tabSingles`` like :mod:`tuktuk_management.ledger.settings`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, _check, parse_count, parse_time

DEFAULT_WITHDRAWAL_MINIMUM_KES = 100
DEFAULT_WITHDRAWAL_MAX_PER_DAY_KES = 5_000
DEFAULT_WITHDRAWAL_COOLDOWN_MINUTES = 60
DEFAULT_SWEEP_TIME = time(18, 0)
DEFAULT_SWEEP_MINIMUM_KES = 10
DEFAULT_SWEEP_BATCH_MAX = 200
SWEEP_BATCH_CAP = 1_000  # whatever the settings say: one sweep job stays bounded

FIELDS = (
	"default_deposit_required_kes",
	"withdrawal_minimum_kes",
	"withdrawal_max_per_day_kes",
	"withdrawal_cooldown_minutes",
	"withdrawal_auto_approve_max_kes",
	"sweep_enabled",
	"sweep_time",
	"sweep_minimum_kes",
	"sweep_batch_max",
)


@dataclass(frozen=True)
class MoneySettings:
	"""Deposits, withdrawals and the sweep; amounts in whole KES.

	Sources (TukTuk Settings): ``default_deposit_required_kes`` (deposit a driver must hold to be
	Active unless the driver's own ``deposit_required`` is > 0; 0 = none), ``withdrawal_minimum_kes``,
	``withdrawal_max_per_day_kes`` (total a driver may request per calendar day, site time; 0 = no
	limit), ``withdrawal_cooldown_minutes`` (between two requests of a driver; 0 = none),
	``withdrawal_auto_approve_max_kes`` (requests up to this are approved at once; 0 = a manager
	approves every request), ``sweep_enabled``, ``sweep_time`` (site time), ``sweep_minimum_kes``
	(smaller balances wait for the next sweep), ``sweep_batch_max`` (drivers per sweep run).
	"""

	default_deposit_required_kes: int = 0
	withdrawal_minimum_kes: int = DEFAULT_WITHDRAWAL_MINIMUM_KES
	withdrawal_max_per_day_kes: int = DEFAULT_WITHDRAWAL_MAX_PER_DAY_KES
	withdrawal_cooldown_minutes: int = DEFAULT_WITHDRAWAL_COOLDOWN_MINUTES
	withdrawal_auto_approve_max_kes: int = 0
	sweep_enabled: bool = False
	sweep_time: time = DEFAULT_SWEEP_TIME
	sweep_minimum_kes: int = DEFAULT_SWEEP_MINIMUM_KES
	sweep_batch_max: int = DEFAULT_SWEEP_BATCH_MAX


def load_money_settings(db: Database) -> MoneySettings:
	"""Read the section in one query; missing values take the defaults above."""
	placeholders = ", ".join(["%s"] * len(FIELDS))
	rows = db.sql(
		f"select field, value from `tabSingles` where doctype = %s and field in ({placeholders})",
		(SETTINGS_DOCTYPE, *FIELDS),
	)
	value = dict(rows)

	def kes(field: str, default: int) -> int:
		raw = value.get(field)
		return max(0, to_kes(raw)) if raw not in (None, "") else default

	return MoneySettings(
		default_deposit_required_kes=kes("default_deposit_required_kes", 0),
		withdrawal_minimum_kes=max(1, kes("withdrawal_minimum_kes", DEFAULT_WITHDRAWAL_MINIMUM_KES)),
		withdrawal_max_per_day_kes=kes("withdrawal_max_per_day_kes", DEFAULT_WITHDRAWAL_MAX_PER_DAY_KES),
		withdrawal_cooldown_minutes=max(
			0, parse_count(value.get("withdrawal_cooldown_minutes"), DEFAULT_WITHDRAWAL_COOLDOWN_MINUTES)
		),
		withdrawal_auto_approve_max_kes=kes("withdrawal_auto_approve_max_kes", 0),
		sweep_enabled=_check(value.get("sweep_enabled"), default=False),
		sweep_time=parse_time(value.get("sweep_time"), DEFAULT_SWEEP_TIME),
		sweep_minimum_kes=max(1, kes("sweep_minimum_kes", DEFAULT_SWEEP_MINIMUM_KES)),
		sweep_batch_max=min(
			SWEEP_BATCH_CAP, max(1, parse_count(value.get("sweep_batch_max"), DEFAULT_SWEEP_BATCH_MAX))
		),
	)
