"""Driver rows: the Sunny ID rule, locking driver rows for a posting, and the driver rules shared
by the TukTuk Driver controller and the standalone loader.

Every flow that moves a driver's money takes the driver rows with :func:`lock_drivers` (sorted
order, ``FOR UPDATE``) and hands the :class:`LockedDrivers` proof to the writer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes, to_percent
from tuktuk_management.ledger.settings import LedgerSettings

SUNNY_ID_PATTERN = re.compile(r"^D\d{6}$")  # a driver's Sunny ID: D + six digits

DRIVER_LOCK_COLUMNS = (
	"name",
	"status",
	"assigned_tuktuk",
	"daily_target",
	"fare_percentage",
	"current_balance",
	"current_deposit_balance",
	"payout_pending",
	"target_rollover",
)


@dataclass
class DriverRow:
	"""A driver row read under ``SELECT ... FOR UPDATE``; balances in whole KES."""

	name: str
	status: str
	assigned_tuktuk: str | None
	daily_target_kes: int
	fare_percentage: Any
	current_balance_kes: int
	current_deposit_balance_kes: int
	payout_pending_kes: int
	target_rollover_kes: int = 0  # shortfall carried into today (daily close); T = base + this


@dataclass
class LockedDrivers:
	"""Proof that the listed driver rows are locked ``FOR UPDATE`` in the current transaction."""

	rows: dict[str, DriverRow] = field(default_factory=dict)

	def __contains__(self, name: object) -> bool:
		return name in self.rows

	def __getitem__(self, name: str) -> DriverRow:
		return self.rows[name]


def lock_drivers(db: Database, names: Iterable[str]) -> LockedDrivers:
	"""Lock driver rows ``FOR UPDATE`` in sorted name order (one stable order: no lock cycles).

	Returns the locked rows; names that do not exist are absent from the result.
	"""
	ordered = sorted(set(names))
	assert ordered, "nothing to lock"
	placeholders = ", ".join(["%s"] * len(ordered))
	rows = db.sql(
		f"select {', '.join(DRIVER_LOCK_COLUMNS)} from `tabTukTuk Driver` "
		f"where name in ({placeholders}) order by name for update",
		tuple(ordered),
	)
	locked = LockedDrivers()
	for values in rows:
		row = driver_row(values)
		locked.rows[row.name] = row
	return locked


def lock_driver_for_close(db: Database, name: str) -> tuple[LockedDrivers, int, Any]:
	"""Lock one driver row ``FOR UPDATE`` once for the daily close, reading the posting columns
	and the close's own (``consecutive_misses``, ``last_close_date``) in the same statement.

	Returns ``(locked, consecutive_misses, last_close_date)``; ``locked`` is empty (and the
	other two 0 and None) if the driver does not exist.
	"""
	rows = db.sql(
		f"select {', '.join(DRIVER_LOCK_COLUMNS)}, consecutive_misses, last_close_date "
		"from `tabTukTuk Driver` where name = %s for update",
		(name,),
	)
	locked = LockedDrivers()
	if not rows:
		return locked, 0, None
	values = rows[0]
	row = driver_row(values[: len(DRIVER_LOCK_COLUMNS)])
	locked.rows[row.name] = row
	misses, last_close_date = values[len(DRIVER_LOCK_COLUMNS) :]
	return locked, int(misses or 0), last_close_date


def driver_row(values: Sequence[Any]) -> DriverRow:
	"""A :class:`DriverRow` from one row of ``DRIVER_LOCK_COLUMNS`` values, in that order.

	Shared by :func:`lock_drivers` and the C2B core's unlocked look-up (which plans a payment
	before taking the lock), so both read the same columns the same way.
	"""
	name, status, assigned_tuktuk, daily_target, fare_percentage, balance, deposit, pending, rollover = values
	return DriverRow(
		name=name,
		status=status or "",
		assigned_tuktuk=assigned_tuktuk or None,
		daily_target_kes=to_kes(daily_target),
		fare_percentage=to_percent(fare_percentage),
		current_balance_kes=to_kes(balance),
		current_deposit_balance_kes=to_kes(deposit),
		payout_pending_kes=to_kes(pending),
		target_rollover_kes=to_kes(rollover),
	)


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
