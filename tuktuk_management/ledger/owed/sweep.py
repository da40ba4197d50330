"""The daily payout sweep: while instant payouts are off, pay each driver's accumulated payable.

Once a day, after TukTuk Settings' ``sweep_time`` (site time zone), every driver (not Terminated)
with at least ``sweep_minimum_kes`` available (:mod:`.available`) gets one payout of all of it,
recorded as an Approved withdrawal request of source Sweep named ``SWP-<date>-<driver>``. The
name is the idempotency key: one sweep payout per driver per sweep date however many times the
job runs, in however many processes (the primary key refuses a second row; the driver lock makes
the later run find the first one's row). Each driver is its own unit of work; a run handles at
most ``sweep_batch_max`` drivers (the next run, five minutes later, takes the rest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from tuktuk_management.ledger.database import Database, in_savepoint, run_with_retry
from tuktuk_management.ledger.drivers import lock_drivers
from tuktuk_management.ledger.owed.available import (
	OPEN_PAYOUT_STATUSES,
	PAYOUT_DOCTYPE,
	REQUEST_DOCTYPE,
	available_kes,
)
from tuktuk_management.ledger.owed.settings import MoneySettings
from tuktuk_management.ledger.owed.withdrawals import TERMINATED, insert_request, mark_approved
from tuktuk_management.ledger.owed.words import AUTOMATIC, WithdrawalSource, WithdrawalStatus
from tuktuk_management.ledger.payouts.state import queue_payout
from tuktuk_management.ledger.settings import LedgerSettings

SAVEPOINT = "tuktuk_sweep"


def sweep_name(sweep_date: date, driver: str) -> str:
	"""The sweep request of ``driver`` for ``sweep_date``: the idempotency key."""
	return f"SWP-{sweep_date.isoformat()}-{driver}"


def due_sweep_date(now: datetime, settings: LedgerSettings, money: MoneySettings) -> date | None:
	"""Today's date once ``sweep_time`` has passed, while the sweep is on and instant payouts off;
	else None. ``now`` is naive site time."""
	if settings.instant_payouts_enabled or not money.sweep_enabled:
		return None
	return now.date() if now.time() >= money.sweep_time else None


def sweep_candidates(db: Database, sweep_date: date, *, minimum_kes: int, limit: int) -> list[str]:
	"""Drivers (not Terminated, by name) with about ``minimum_kes`` or more available and no sweep
	request for ``sweep_date`` yet; read without locks (each is re-checked under its lock)."""
	placeholders = ", ".join(["%s"] * len(OPEN_PAYOUT_STATUSES))
	rows = db.sql(
		f"""select d.name from `tabTukTuk Driver` d
		where d.status <> %s and d.payout_pending >= %s
		and not exists (select 1 from `tab{REQUEST_DOCTYPE}` r where r.name = concat('SWP-', %s, '-', d.name))
		and d.payout_pending
			- (select coalesce(sum(p.amount), 0) from `tab{PAYOUT_DOCTYPE}` p
				where p.driver = d.name and p.status in ({placeholders}))
			- (select coalesce(sum(w.amount_kes), 0) from `tab{REQUEST_DOCTYPE}` w
				where w.driver = d.name and w.status = %s) >= %s
		order by d.name limit {int(limit)}""",
		(
			TERMINATED,
			minimum_kes,
			sweep_date.isoformat(),
			*OPEN_PAYOUT_STATUSES,
			WithdrawalStatus.REQUESTED,
			minimum_kes,
		),
	)
	return [name for (name,) in rows]


def sweep_driver(
	db: Database, driver: str, sweep_date: date, *, minimum_kes: int, now: datetime, user: str
) -> tuple[str, int] | None:
	"""Under the driver lock: queue the driver's sweep payout for ``sweep_date`` unless it exists
	or less than ``minimum_kes`` is available. Returns ``(payout, amount_kes)`` or None."""
	with in_savepoint(db, SAVEPOINT):
		locked = lock_drivers(db, [driver])
		if driver not in locked or locked[driver].status == TERMINATED:
			return None
		name = sweep_name(sweep_date, driver)
		if db.sql(f"select name from `tab{REQUEST_DOCTYPE}` where name = %s for update", (name,)):
			return None
		amount_kes = available_kes(db, locked, driver)
		if amount_kes < minimum_kes:
			return None
		insert_request(
			db,
			driver=driver,
			amount_kes=amount_kes,
			source=WithdrawalSource.SWEEP,
			status=WithdrawalStatus.REQUESTED,
			now=now,
			user=user,
			name=name,
			sweep_date=sweep_date,
		)
		payout = queue_payout(db, driver=driver, amount_kes=amount_kes, transaction=None, now=now, user=user)
		mark_approved(db, name, payout=payout, now=now, decided_by=AUTOMATIC)
	return payout, amount_kes


@dataclass
class SweepRun:
	"""One run: ``payouts`` queued (name → driver, amount), ``skipped`` drivers re-checked under
	the lock and left alone, ``errors`` (driver, error text), ``done`` when no candidate is left."""

	sweep_date: date | None
	payouts: dict[str, tuple[str, int]] = field(default_factory=dict)
	skipped: int = 0
	errors: list[tuple[str, str]] = field(default_factory=list)
	done: bool = True

	def as_dict(self) -> dict:
		return {
			"sweep_date": self.sweep_date.isoformat() if self.sweep_date else None,
			"payouts": len(self.payouts),
			"paid_kes": sum(amount for _driver, amount in self.payouts.values()),
			"skipped": self.skipped,
			"errors": len(self.errors),
			"done": self.done,
		}


def run_sweep(
	db: Database,
	*,
	settings: LedgerSettings,
	money: MoneySettings,
	now: datetime,
	commit: Callable[[], None],
	rollback: Callable[[], None],
	user: str,
	sweep_date: date | None = None,
) -> SweepRun:
	"""One bounded run of the sweep due at ``now`` (or of ``sweep_date``, forced): each driver in
	its own committed unit of work (deadlocks retried). The caller sends the payouts after."""
	sweep_date = sweep_date or due_sweep_date(now, settings, money)
	run = SweepRun(sweep_date)
	if sweep_date is None:
		return run
	candidates = sweep_candidates(
		db, sweep_date, minimum_kes=money.sweep_minimum_kes, limit=money.sweep_batch_max
	)
	rollback()  # the candidate read is a plain snapshot: start each driver's unit of work afresh
	for driver in candidates:
		try:
			queued = run_with_retry(
				lambda driver=driver: sweep_driver(
					db, driver, sweep_date, minimum_kes=money.sweep_minimum_kes, now=now, user=user
				),
				rollback=rollback,
			)
			commit()
		except Exception as exc:
			rollback()
			run.errors.append((driver, f"{type(exc).__name__}: {exc}"))
			continue
		if queued:
			run.payouts[queued[0]] = (driver, queued[1])
		else:
			run.skipped += 1
	run.done = len(candidates) < money.sweep_batch_max
	return run
