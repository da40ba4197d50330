"""What the driver portal shows one driver, read from the driver row and the ledger (no writes).

The portal page (``www/driver``) and its tests use these; every function takes the driver's
name from the caller, who must have resolved it from the logged-in user (never from a request
parameter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.figures import latest_payments
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.split import effective_target_kes
from tuktuk_management.ledger.statement import Statement, driver_statement

RECENT_ROWS = 10


@dataclass(frozen=True)
class DriverToday:
	"""Today's figures of one driver, whole KES: ``target_kes`` = base + ``rollover_kes``."""

	driver: str
	driver_name: str
	status: str
	base_target_kes: int
	rollover_kes: int
	target_kes: int
	collected_kes: int
	left_kes: int
	consecutive_misses: int
	deposit_kes: int
	payable_kes: int

	@property
	def progress_percent(self) -> int:
		"""Collected as a whole percent of the target (0..100; 100 for a zero target)."""
		if self.target_kes <= 0:
			return 100
		return max(0, min(100, self.collected_kes * 100 // self.target_kes))


def driver_today(db: Database, settings: LedgerSettings, driver: str) -> DriverToday | None:
	"""The driver's row as today's figures (one query by primary key), or None."""
	rows = db.sql(
		"""select name, driver_name, status, daily_target, target_rollover, current_balance,
			consecutive_misses, current_deposit_balance, payout_pending
		from `tabTukTuk Driver` where name = %s""",
		(driver,),
	)
	if not rows:
		return None
	name, driver_name, status, daily_target, rollover, balance, misses, deposit, payable = rows[0]
	base_kes = effective_target_kes(to_kes(daily_target), settings.global_daily_target_kes)
	rollover_kes = max(0, to_kes(rollover))
	collected_kes = to_kes(balance)
	return DriverToday(
		driver=name,
		driver_name=driver_name or "",
		status=status or "",
		base_target_kes=base_kes,
		rollover_kes=rollover_kes,
		target_kes=base_kes + rollover_kes,
		collected_kes=collected_kes,
		left_kes=max(0, base_kes + rollover_kes - collected_kes),
		consecutive_misses=int(misses or 0),
		deposit_kes=to_kes(deposit),
		payable_kes=to_kes(payable),
	)


def recent_payments(db: Database, driver: str, limit: int = RECENT_ROWS) -> list[dict]:
	"""The driver's newest payments (see :func:`tuktuk_management.ledger.figures.latest_payments`)."""
	return latest_payments(db, driver, limit=limit)


def recent_payouts(db: Database, driver: str, limit: int = RECENT_ROWS) -> list[dict]:
	"""The driver's newest payouts: ``{payout, queued_at, amount_kes, status, receipt}`` (driver index)."""
	rows = db.sql(
		"""select name, queued_at, amount, status, receipt from `tabTukTuk Payout`
		where driver = %s order by creation desc limit %s""",
		(driver, max(1, min(limit, 50))),
	)
	return [
		{
			"payout": name,
			"queued_at": queued_at,
			"amount_kes": to_kes(amount),
			"status": status,
			"receipt": receipt or "",
		}
		for name, queued_at, amount, status, receipt in rows
	]


def statement(db: Database, driver: str, from_date: date, to_date: date) -> Statement:
	"""The driver's statement for the range (ledger lines with balances after each)."""
	return driver_statement(db, driver, from_date, to_date)
