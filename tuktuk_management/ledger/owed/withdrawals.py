"""Paying out what a driver is owed: withdrawal requests, their approval, and "Pay now".

Every way out of payable other than an instant payout is a **TukTuk Withdrawal Request** row with
exactly one payout once Approved (``source``: Driver Request, Pay Now, Sweep), so the driver's
statement shows who asked for what and what became of it. A flow reads as prepare → lock →
apply: check the arguments, lock the driver row ``FOR UPDATE`` (then the request row), compute
what is available under the lock (:mod:`.available`), queue the one payout
(``payouts.state.queue_payout``, sent after commit by the existing job) and mark the request.

Idempotency: the request's name is the key. Approving an Approved request returns its payout;
several processes approving at once queue one payout (they serialize on the driver lock and the
later ones find the request Approved). Every function runs in the caller's transaction, behind
a savepoint, and never commits; a refusal (:class:`WithdrawalRefused`) writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from tuktuk_management.ledger.database import Database, in_savepoint
from tuktuk_management.ledger.drivers import LockedDrivers, lock_drivers
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.owed.available import REQUEST_DOCTYPE, available_kes
from tuktuk_management.ledger.owed.settings import MoneySettings
from tuktuk_management.ledger.owed.words import AUTOMATIC, WithdrawalSource, WithdrawalStatus
from tuktuk_management.ledger.payouts.state import queue_payout
from tuktuk_management.ledger.postings import CorrectionRefused, NotFound
from tuktuk_management.ledger.rows import insert_statement, new_name, sql_datetime, standard_values

SAVEPOINT = "tuktuk_withdrawal"
TERMINATED = "Terminated"
REASON_CHARS_MAX = 1_000
_COLUMNS = (
	"driver",
	"amount_kes",
	"source",
	"status",
	"requested_at",
	"requested_by",
	"sweep_date",
	"reason",
)
_INSERT_REQUEST = insert_statement(REQUEST_DOCTYPE, _COLUMNS)


class WithdrawalRefused(CorrectionRefused):
	"""A request, approval, rejection or payment that cannot be done as asked; the message is
	meant for the driver or the manager. Raised before anything is written."""


@dataclass(frozen=True)
class RequestOutcome:
	"""``name`` and ``status`` of the request after the call; ``payout`` its payout (Approved);
	``replayed`` True when the call found the work already done and wrote nothing."""

	name: str
	status: str
	amount_kes: int
	payout: str | None = None
	replayed: bool = False

	def as_dict(self) -> dict:
		return {
			"name": self.name,
			"status": self.status,
			"amount_kes": self.amount_kes,
			"payout": self.payout,
			"replayed": self.replayed,
		}


def _lock_driver(db: Database, driver: str) -> LockedDrivers:
	locked = lock_drivers(db, [driver])
	if driver not in locked:
		raise NotFound(f"Driver {driver} does not exist.")
	if locked[driver].status == TERMINATED:
		raise WithdrawalRefused(f"Driver {driver} is Terminated: their money is settled by the termination.")
	return locked


def _check_amount(amount_kes: object) -> int:
	amount = to_kes(amount_kes)
	if amount <= 0:
		raise WithdrawalRefused("The amount must be more than 0 KES.")
	return amount


def insert_request(
	db: Database,
	*,
	driver: str,
	amount_kes: int,
	source: str,
	status: str,
	now: datetime,
	user: str,
	name: str | None = None,
	sweep_date=None,
	reason: str = "",
) -> str:
	"""Insert a request row (the caller holds the driver lock); its name. ``reason``: why (Pay now),
	cut to ``REASON_CHARS_MAX`` characters; empty for none."""
	assert source in WithdrawalSource.ALL and status in WithdrawalStatus.ALL
	name = name or new_name()
	db.sql(
		_INSERT_REQUEST,
		(
			*standard_values(name, now, user),
			driver,
			amount_kes,
			source,
			status,
			sql_datetime(now),
			user,
			sweep_date,
			reason.strip()[:REASON_CHARS_MAX] or None,
		),
	)
	return name


def mark_approved(db: Database, name: str, *, payout: str, now: datetime, decided_by: str) -> None:
	db.sql(
		f"""update `tab{REQUEST_DOCTYPE}` set status = %s, payout = %s, decided_at = %s, decided_by = %s,
		modified = %s where name = %s""",
		(WithdrawalStatus.APPROVED, payout, now, decided_by[:140], now, name),
	)


def check_driver_limits(
	db: Database, driver: str, amount_kes: int, settings: MoneySettings, now: datetime
) -> None:
	"""The settings' limits on a driver's own request (minimum, maximum per calendar day of
	``now``, cooldown since their last request); locking reads, under the driver lock. Raises
	:class:`WithdrawalRefused` naming the limit."""
	if amount_kes < settings.withdrawal_minimum_kes:
		raise WithdrawalRefused(f"The smallest withdrawal is {settings.withdrawal_minimum_kes} KES.")
	day_start = datetime.combine(now.date(), time.min)
	last_at, today_kes = db.sql(
		f"""select max(requested_at), coalesce(sum(case when requested_at >= %s and status <> %s
			then amount_kes else 0 end), 0)
		from `tab{REQUEST_DOCTYPE}` where driver = %s and source = %s for update""",
		(day_start, WithdrawalStatus.REJECTED, driver, WithdrawalSource.DRIVER_REQUEST),
	)[0]
	cooldown = timedelta(minutes=settings.withdrawal_cooldown_minutes)
	if last_at is not None and cooldown and now < last_at + cooldown:
		wait_minutes = -(-(last_at + cooldown - now).total_seconds() // 60)
		raise WithdrawalRefused(
			f"Wait {int(wait_minutes)} more minute(s) before the next withdrawal request."
		)
	limit_kes = settings.withdrawal_max_per_day_kes
	if limit_kes and to_kes(today_kes) + amount_kes > limit_kes:
		left_kes = max(0, limit_kes - to_kes(today_kes))
		raise WithdrawalRefused(
			f"Withdrawals are limited to {limit_kes} KES a day; {left_kes} KES is left for today."
		)


def _refuse_unless_available(db: Database, locked: LockedDrivers, driver: str, amount_kes: int, **kw) -> int:
	free_kes = available_kes(db, locked, driver, **kw)
	if amount_kes > free_kes:
		raise WithdrawalRefused(
			f"Only {free_kes} KES can be paid out now (payable {locked[driver].payout_pending_kes} KES, "
			"less payouts on their way and requests waiting for approval)."
		)
	return free_kes


def request_withdrawal(
	db: Database,
	*,
	driver: str,
	amount_kes: int,
	settings: MoneySettings,
	now: datetime,
	user: str,
	on_step: Callable[[str], None] | None = None,
) -> RequestOutcome:
	"""A driver's request to withdraw ``amount_kes`` (whole KES) of their payable.

	Checks the limits (:func:`check_driver_limits`) and what is available, under the driver lock;
	inserts the request (Requested, its amount reserved) and, when ``amount_kes`` is at most
	``withdrawal_auto_approve_max_kes``, approves it at once (one payout queued, decided by
	Automatic). ``now`` is naive site time. Raises :class:`WithdrawalRefused` (nothing written).
	on_step: test hook called with "request_inserted", "payout_queued", "request_marked".
	"""
	step = on_step or (lambda _name: None)
	amount_kes = _check_amount(amount_kes)
	with in_savepoint(db, SAVEPOINT + "_request"):
		locked = _lock_driver(db, driver)
		check_driver_limits(db, driver, amount_kes, settings, now)
		_refuse_unless_available(db, locked, driver, amount_kes)
		name = insert_request(
			db,
			driver=driver,
			amount_kes=amount_kes,
			source=WithdrawalSource.DRIVER_REQUEST,
			status=WithdrawalStatus.REQUESTED,
			now=now,
			user=user,
		)
		step("request_inserted")
		if amount_kes > settings.withdrawal_auto_approve_max_kes:
			return RequestOutcome(name, WithdrawalStatus.REQUESTED, amount_kes)
		payout = queue_payout(db, driver=driver, amount_kes=amount_kes, transaction=None, now=now, user=user)
		step("payout_queued")
		mark_approved(db, name, payout=payout, now=now, decided_by=AUTOMATIC)
		step("request_marked")
	return RequestOutcome(name, WithdrawalStatus.APPROVED, amount_kes, payout)


def _lock_request(db: Database, name: str) -> tuple[LockedDrivers, dict]:
	"""Lock the request's driver, then the request row (the lock order of every flow here)."""
	rows = db.sql(f"select driver from `tab{REQUEST_DOCTYPE}` where name = %s", (name,))
	if not rows:
		raise NotFound(f"Withdrawal request {name} does not exist.")
	locked = _lock_driver(db, rows[0][0])
	row = db.sql(
		f"select name, driver, amount_kes, status, payout from `tab{REQUEST_DOCTYPE}` where name = %s for update",
		(name,),
		as_dict=True,
	)[0]
	return locked, row


def approve_withdrawal(
	db: Database, name: str, *, now: datetime, user: str, on_step: Callable[[str], None] | None = None
) -> RequestOutcome:
	"""Approve a Requested withdrawal: queue its one payout (if still available) and mark it.

	Idempotent: an Approved request returns its payout (``replayed``), however many processes
	approve it at once. Raises :class:`WithdrawalRefused` for a Rejected request or when its
	amount is no longer available, :class:`NotFound` for an unknown name. on_step: test hook
	("payout_queued", "request_marked").
	"""
	step = on_step or (lambda _name: None)
	with in_savepoint(db, SAVEPOINT + "_approve"):
		locked, row = _lock_request(db, name)
		amount_kes, driver = to_kes(row["amount_kes"]), row["driver"]
		if row["status"] == WithdrawalStatus.APPROVED:
			return RequestOutcome(name, WithdrawalStatus.APPROVED, amount_kes, row["payout"], replayed=True)
		if row["status"] != WithdrawalStatus.REQUESTED:
			raise WithdrawalRefused(f"Withdrawal request {name} is {row['status']}; it cannot be approved.")
		_refuse_unless_available(db, locked, driver, amount_kes, except_request=name)
		payout = queue_payout(db, driver=driver, amount_kes=amount_kes, transaction=None, now=now, user=user)
		step("payout_queued")
		mark_approved(db, name, payout=payout, now=now, decided_by=user)
		step("request_marked")
	return RequestOutcome(name, WithdrawalStatus.APPROVED, amount_kes, payout)


def reject_withdrawal(db: Database, name: str, *, reason: str, now: datetime, user: str) -> RequestOutcome:
	"""Reject a Requested withdrawal with ``reason`` (required); its reserved amount is free again.

	Idempotent for a Rejected request (``replayed``). Raises :class:`WithdrawalRefused` for an
	Approved one (its payout is on its way: cancel the payout instead) or a missing reason.
	"""
	reason = (reason or "").strip()
	if not reason:
		raise WithdrawalRefused("Give a reason for rejecting the withdrawal request.")
	with in_savepoint(db, SAVEPOINT + "_reject"):
		_locked, row = _lock_request(db, name)
		amount_kes = to_kes(row["amount_kes"])
		if row["status"] == WithdrawalStatus.REJECTED:
			return RequestOutcome(name, WithdrawalStatus.REJECTED, amount_kes, replayed=True)
		if row["status"] != WithdrawalStatus.REQUESTED:
			raise WithdrawalRefused(
				f"Withdrawal request {name} is {row['status']}; cancel its payout instead of rejecting it."
			)
		db.sql(
			f"""update `tab{REQUEST_DOCTYPE}` set status = %s, reason = %s, decided_at = %s, decided_by = %s,
			modified = %s where name = %s""",
			(WithdrawalStatus.REJECTED, reason[:REASON_CHARS_MAX], now, user[:140], now, name),
		)
	return RequestOutcome(name, WithdrawalStatus.REJECTED, amount_kes)


def reject_waiting_requests(db: Database, driver: str, *, reason: str, now: datetime, user: str) -> list[str]:
	"""Reject every Requested withdrawal of ``driver`` with ``reason``; the names rejected.

	For the termination (``ledger.termination``), which holds the driver's row lock and pays all the
	driver is owed in one payout: a request left waiting could otherwise be approved later.
	"""
	names = [
		row[0]
		for row in db.sql(
			f"select name from `tab{REQUEST_DOCTYPE}` where driver = %s and status = %s for update",
			(driver, WithdrawalStatus.REQUESTED),
		)
	]
	if names:
		db.sql(
			f"""update `tab{REQUEST_DOCTYPE}` set status = %s, reason = %s, decided_at = %s, decided_by = %s,
			modified = %s where driver = %s and status = %s""",
			(
				WithdrawalStatus.REJECTED,
				reason[:REASON_CHARS_MAX],
				now,
				user[:140],
				now,
				driver,
				WithdrawalStatus.REQUESTED,
			),
		)
	return names


def pay_now(
	db: Database,
	*,
	driver: str,
	amount_kes: int | None = None,
	now: datetime,
	user: str,
	reason: str = "",
	on_step: Callable[[str], None] | None = None,
) -> RequestOutcome:
	"""A manager pays ``driver`` all that is available (``amount_kes`` None) or part of it: one
	payout, recorded as an Approved request of source Pay Now.

	What is available is computed under the driver lock, so a second click (from any process)
	finds the money already on its way and is refused rather than paying it twice. Raises
	:class:`WithdrawalRefused` when nothing (or less than ``amount_kes``) is available. on_step:
	test hook ("request_inserted", "payout_queued", "request_marked").
	"""
	step = on_step or (lambda _name: None)
	with in_savepoint(db, SAVEPOINT + "_pay_now"):
		locked = _lock_driver(db, driver)
		wanted_kes = None if amount_kes in (None, "", 0) else _check_amount(amount_kes)
		free_kes = available_kes(db, locked, driver)
		if free_kes <= 0:
			raise WithdrawalRefused(
				f"Nothing to pay to {driver}: payable {locked[driver].payout_pending_kes} KES is already on its "
				"way in payouts (or waiting in withdrawal requests)."
			)
		amount = free_kes if wanted_kes is None else wanted_kes
		if amount > free_kes:
			raise WithdrawalRefused(f"Only {free_kes} KES can be paid to {driver} now.")
		name = insert_request(
			db,
			driver=driver,
			amount_kes=amount,
			source=WithdrawalSource.PAY_NOW,
			status=WithdrawalStatus.REQUESTED,
			now=now,
			user=user,
			reason=reason,
		)
		step("request_inserted")
		payout = queue_payout(db, driver=driver, amount_kes=amount, transaction=None, now=now, user=user)
		step("payout_queued")
		mark_approved(db, name, payout=payout, now=now, decided_by=user)
		step("request_marked")
	return RequestOutcome(name, WithdrawalStatus.APPROVED, amount, payout)
