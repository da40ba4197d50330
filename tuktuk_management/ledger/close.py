"""The daily close (DESIGN §5): per driver and business date, idempotent, under the row lock.

**Business date.** Ledger lines carry ``posting_datetime`` in the site time zone (naive, as
Frappe's ``now_datetime``); a line belongs to business date D when it was posted in
``[D 00:00, D+1 00:00)``. The close for D runs at ``daily_close_time`` (default 23:59) on D.

**What a close for D moves.** Under the driver's row lock it sums the driver's target lines
posted before D+1 00:00 plus every earlier close voucher (a locking read, so it sees every
committed payment): that is exactly the collections not yet closed up to the end of D.
Payments posted after midnight stay in ``current_balance`` for D+1, so a close racing with
payments loses nothing from either day, and whatever the close runs after, the cache and the
ledger move together in one voucher. If earlier closes were skipped (scheduler down), the close
for D covers every unclosed day as one period, as the C2B split did.

**Rules.** T = base (driver ``daily_target`` or the global target) + ``target_rollover``.
Met (collected ≥ T): ``consecutive_misses = 0``, rollover cleared. Missed: ``shortfall = T −
collected``, optionally taken from the deposit first (never below zero), the rest becomes the
next day's rollover (next T = base + rollover: the base excludes earlier rollover, so debt
never compounds), ``consecutive_misses += 1``. The day's collections (and any deposit
deduction) move to revenue in one voucher; a ``TukTuk Daily Close`` row named
``<driver>-<YYYY-MM-DD>`` (its primary key makes it unique) is written in the same transaction.

**Who is judged** (DESIGN §8, ``ledger/judged.py``): only a driver who drives on D (assigned to
an Active vehicle, or substituting), is not on an Approved day off and is not replaced by a
substitute. Every Active driver is still closed: for one who is not judged the close row has
``judged`` = 0 and ``not_judged_reason``, the collections still move to revenue, and
``consecutive_misses`` and ``target_rollover`` stay as they were (the rollover waits for the next
judged day). A page of due drivers is listed with the reason of each in one query.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from tuktuk_management.ledger import accounts, doctypes, judged
from tuktuk_management.ledger.close_rule import (
	ALREADY_CLOSED,
	CLOSED,
	NOT_DUE,
	CloseDecision,
	CloseSummary,
	DayResult,
	decide_close,
)
from tuktuk_management.ledger.database import Database, in_savepoint, run_with_retry
from tuktuk_management.ledger.drivers import lock_driver_for_close
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.rows import insert_statement, standard_values
from tuktuk_management.ledger.settings import LedgerSettings, at_miss_limit
from tuktuk_management.ledger.split import effective_target_kes
from tuktuk_management.ledger.writer import PostingLine, post_voucher

DAILY_CLOSE_DOCTYPE = doctypes.DAILY_CLOSE
CLOSE_BATCH_MAX = 500  # drivers per call of close_day (one background job chunk)
CLOSE_PAGE_MAX = 100  # drivers listed per query
ERRORS_KEPT_MAX = 100
SAVEPOINT = "tuktuk_close"

_CLOSE_COLUMNS = (
	"driver",
	"business_date",
	"target_met",
	"consecutive_misses",
	"voucher_no",
	"closed_at",
	"target_kes",
	"collected_kes",
	"shortfall_kes",
	"deposit_deducted_kes",
	"rollover_kes",
	"judged",
	"not_judged_reason",
)
_INSERT_CLOSE = insert_statement(DAILY_CLOSE_DOCTYPE, _CLOSE_COLUMNS)


def close_name(driver: str, business_date: date) -> str:
	"""The TukTuk Daily Close name (and ledger voucher_no): ``<driver>-<YYYY-MM-DD>``."""
	return f"{driver}-{business_date.isoformat()}"


def day_end(business_date: date) -> datetime:
	"""The first instant after business date D: D+1 00:00 (naive, site time zone)."""
	return datetime.combine(business_date + timedelta(days=1), time(0, 0))


def due_business_date(now: datetime, close_time: time) -> date:
	"""The latest business date whose close is due at ``now``: today once ``close_time`` has
	passed, else yesterday (a close missed yesterday is caught up)."""
	return now.date() if now.time() >= close_time else now.date() - timedelta(days=1)


def unclosed_collections_kes(db: Database, driver: str, business_date: date) -> int:
	"""Σ credit − debit of the driver's target lines posted before D+1 00:00, plus every close
	voucher (whenever it was posted): the collections no close has moved yet, up to the end of D.

	A locking read (``lock in share mode``): under REPEATABLE READ a plain SELECT could miss a
	payment committed just before the driver's row lock was granted.
	"""
	rows = db.sql(
		"""select coalesce(sum(credit - debit), 0) from `tabTukTuk Ledger Entry`
		where party = %s and account = %s and party_type = %s
			and (posting_datetime < %s or voucher_type = %s)
		lock in share mode""",
		(driver, accounts.TARGET, accounts.DRIVER_DOCTYPE, day_end(business_date), DAILY_CLOSE_DOCTYPE),
	)
	return to_kes(rows[0][0])


def close_driver(
	db: Database,
	driver: str,
	business_date: date,
	*,
	settings: LedgerSettings,
	now: datetime,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
	not_judged_reason: str | None = None,
) -> DayResult:
	"""Close one driver's business date in the caller's transaction (never commits).

	Locks the driver row, then: if the driver is not Active, or already closed for this date or
	a later one, returns a result with status ``Not Due``/``Already Closed`` and writes nothing.
	Otherwise inserts the TukTuk Daily Close, posts the close voucher (target → revenue, and
	deposit → revenue when the settings deduct the shortfall) and sets ``consecutive_misses``,
	``target_rollover``, ``last_close_date`` and ``left_to_target``. Returns the figures
	(status ``Closed``). ``not_judged_reason``: "" (judged) or a :class:`judged.NotJudged` word as
	:func:`close_day` read it for the page; None reads it for this driver (``judged.reason_for``).
	A driver who is not judged keeps misses and rollover (DESIGN §8). ``on_step`` (test hook) is
	called with "daily_close_inserted", "ledger_lines_inserted", "caches_updated",
	"driver_updated". On any error the work of this call is rolled back to its savepoint and the
	error propagates.
	"""
	step = on_step or (lambda _name: None)
	with in_savepoint(db, SAVEPOINT):
		result = _close_locked(
			db,
			driver,
			business_date,
			settings=settings,
			now=now,
			user=user,
			step=step,
			reason=not_judged_reason,
		)
	return result


def _close_locked(
	db: Database,
	driver: str,
	business_date: date,
	*,
	settings: LedgerSettings,
	now: datetime,
	user: str,
	step: Callable[[str], None],
	reason: str | None,
) -> DayResult:
	locked, misses_in, last_close_date = lock_driver_for_close(db, driver)
	if driver not in locked:
		return DayResult(driver, business_date, NOT_DUE)
	row = locked[driver]
	name = close_name(driver, business_date)
	if _already_closed(db, name, business_date, last_close_date):
		return DayResult(driver, business_date, ALREADY_CLOSED)
	if row.status != "Active":
		return DayResult(driver, business_date, NOT_DUE)
	if reason is None:
		reason = judged.reason_for(db, driver, business_date)

	base_kes = effective_target_kes(row.daily_target_kes, settings.global_daily_target_kes)
	collected_kes = unclosed_collections_kes(db, driver, business_date)
	decision = decide_close(
		base_target_kes=base_kes,
		rollover_in_kes=max(0, row.target_rollover_kes),
		collected_kes=collected_kes,
		consecutive_misses_in=max(0, misses_in),
		deposit_kes=row.current_deposit_balance_kes,
		deduct_from_deposit=settings.deduct_shortfall_from_deposit,
		judged=not reason,
	)
	lines = _close_lines(driver, collected_kes, decision.deposit_deducted_kes)
	voucher_no = name if lines else ""
	_insert_close(
		db, name, driver, business_date, decision, collected_kes, voucher_no, reason, now=now, user=user
	)
	step("daily_close_inserted")
	if lines:
		post_voucher(
			db,
			voucher_type=DAILY_CLOSE_DOCTYPE,
			voucher_no=voucher_no,
			lines=lines,
			posting_datetime=now,
			locked=locked,
			remarks=f"Daily close {business_date.isoformat()}",
			user=user,
			on_step=step,
		)
	else:
		step("ledger_lines_inserted")
		step("caches_updated")
	_set_driver_after_close(
		db, driver, business_date, decision, next_target_kes=base_kes + decision.rollover_kes
	)
	step("driver_updated")
	return _day_result(driver, business_date, decision, collected_kes, voucher_no, reason, settings)


def _day_result(
	driver: str,
	business_date: date,
	decision: CloseDecision,
	collected_kes: int,
	voucher_no: str,
	reason: str,
	settings: LedgerSettings,
) -> DayResult:
	return DayResult(
		driver,
		business_date,
		CLOSED,
		target_kes=decision.target_kes,
		collected_kes=collected_kes,
		shortfall_kes=decision.shortfall_kes,
		target_met=decision.target_met,
		consecutive_misses=decision.consecutive_misses,
		rollover_kes=decision.rollover_kes,
		deposit_deducted_kes=decision.deposit_deducted_kes,
		voucher_no=voucher_no,
		miss_limit_reached=decision.judged
		and at_miss_limit(decision.consecutive_misses, settings.miss_limit),
		judged=decision.judged,
		not_judged_reason=reason,
	)


def _already_closed(db: Database, name: str, business_date: date, last_close_date) -> bool:
	"""True if the driver was closed for this date or a later one (the close row is read with a
	locking read, so a concurrent close of the same day is seen)."""
	if last_close_date and _as_date(last_close_date) >= business_date:
		return True
	return bool(
		db.sql(f"select name from `tab{DAILY_CLOSE_DOCTYPE}` where name = %s lock in share mode", (name,))
	)


def _set_driver_after_close(
	db: Database, driver: str, business_date: date, decision: CloseDecision, *, next_target_kes: int
) -> None:
	"""The driver's close fields: missed days, rollover, last close date and tomorrow's left to target."""
	db.sql(
		"""update `tabTukTuk Driver` set consecutive_misses = %s, target_rollover = %s,
		last_close_date = %s, left_to_target = greatest(0, %s - current_balance)
		where name = %s""",
		(decision.consecutive_misses, decision.rollover_kes, business_date, next_target_kes, driver),
	)


def _insert_close(
	db: Database,
	name: str,
	driver: str,
	business_date: date,
	decision: CloseDecision,
	collected_kes: int,
	voucher_no: str,
	reason: str,
	*,
	now: datetime,
	user: str,
) -> None:
	"""Insert the TukTuk Daily Close row (its name is unique per driver and date)."""
	db.sql(
		_INSERT_CLOSE,
		(
			*standard_values(name, now, user),
			driver,
			business_date,
			1 if decision.target_met else 0,
			decision.consecutive_misses,
			voucher_no,
			now,
			decision.target_kes,
			collected_kes,
			decision.shortfall_kes,
			decision.deposit_deducted_kes,
			decision.rollover_kes,
			1 if decision.judged else 0,
			reason or None,
		),
	)


def _close_lines(driver: str, collected_kes: int, deducted_kes: int) -> list[PostingLine]:
	"""Collections target → revenue (reversed if negative), deposit deduction deposit → revenue."""
	lines = []
	if collected_kes > 0:
		lines += [
			PostingLine(accounts.TARGET, debit_kes=collected_kes, party=driver),
			PostingLine(accounts.REVENUE, credit_kes=collected_kes),
		]
	elif collected_kes < 0:  # only after a reversal larger than the day's collections
		lines += [
			PostingLine(accounts.REVENUE, debit_kes=-collected_kes),
			PostingLine(accounts.TARGET, credit_kes=-collected_kes, party=driver),
		]
	if deducted_kes > 0:
		lines += [
			PostingLine(accounts.DEPOSIT, debit_kes=deducted_kes, party=driver),
			PostingLine(accounts.REVENUE, credit_kes=deducted_kes),
		]
	return lines


def _as_date(value: date | datetime | str) -> date:
	if isinstance(value, datetime):
		return value.date()
	if isinstance(value, date):
		return value
	return date.fromisoformat(str(value)[:10])


def drivers_due(
	db: Database, business_date: date, *, after: str = "", limit: int = CLOSE_PAGE_MAX
) -> list[str]:
	"""Names (sorted, > ``after``) of Active drivers created before D+1 00:00 and not yet closed for
	D; at most ``limit``. Read without locks: :func:`close_driver` re-checks under the lock."""
	return [name for name, _reason in due_page(db, business_date, after=after, limit=limit)]


def due_page(
	db: Database, business_date: date, *, after: str = "", limit: int = CLOSE_PAGE_MAX
) -> list[tuple[str, str]]:
	"""``[(driver, not_judged_reason)]`` for the drivers :func:`drivers_due` lists, in one query
	(the reason "" = judged; see ``ledger/judged.py``): no query per driver."""
	assert 1 <= limit <= CLOSE_BATCH_MAX
	rows = db.sql(
		f"""select {judged.judgement_select()}
		where d.status = 'Active' and (d.last_close_date is null or d.last_close_date < %(business_date)s)
			and d.creation < %(day_end)s and d.name > %(after)s
		order by d.name limit %(limit)s""",
		{"business_date": business_date, "day_end": day_end(business_date), "after": after, "limit": limit},
	)
	return [judged.reason_of_row(row) for row in rows]


def close_day(
	db: Database,
	business_date: date,
	*,
	settings: LedgerSettings,
	clock: Callable[[], datetime],
	commit: Callable[[], None],
	rollback: Callable[[], None],
	after: str = "",
	batch_size_max: int = CLOSE_BATCH_MAX,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> CloseSummary:
	"""Close up to ``batch_size_max`` due drivers (names > ``after``), one unit of work each.

	Each driver is closed by :func:`close_driver` with bounded deadlock retry and then
	``commit()`` is called (the caller's transaction boundary: one driver per transaction, so a
	failure never undoes another driver's close and locks are held briefly). A driver whose close
	fails for another reason is rolled back, listed in ``errors`` and skipped. ``last_driver`` is
	where to continue; ``done`` is True once no due driver is left after it.
	"""
	assert 1 <= batch_size_max <= CLOSE_BATCH_MAX
	summary = CloseSummary(business_date=business_date.isoformat(), last_driver=after)
	processed = 0
	while processed < batch_size_max:
		page = due_page(
			db,
			business_date,
			after=summary.last_driver,
			limit=min(CLOSE_PAGE_MAX, batch_size_max - processed),
		)
		rollback()  # end the listing's read snapshot before locking
		if not page:
			summary.done = True
			break
		for driver, reason in page:
			try:
				result = run_with_retry(
					lambda driver=driver, reason=reason: close_driver(
						db,
						driver,
						business_date,
						settings=settings,
						now=clock(),
						user=user,
						on_step=on_step,
						not_judged_reason=reason,
					),
					rollback=rollback,
				)
			except Exception as exc:
				rollback()
				if len(summary.errors) < ERRORS_KEPT_MAX:
					summary.errors.append({"driver": driver, "error": f"{type(exc).__name__}: {exc}"})
			else:
				commit()
				summary.add(result)
			summary.last_driver = driver
			processed += 1
	return summary


def miss_limit_drivers(db: Database, business_date: date, miss_limit: int, limit: int = 1_000) -> list[dict]:
	"""Drivers judged on D whose close left them at or over ``miss_limit`` consecutive misses
	(``[{"driver", "consecutive_misses", "rollover_kes"}]``, most misses first); [] if the limit is 0."""
	if miss_limit <= 0:
		return []
	rows = db.sql(
		f"""select driver, consecutive_misses, rollover_kes from `tab{DAILY_CLOSE_DOCTYPE}`
		where business_date = %s and consecutive_misses >= %s and judged = 1
		order by consecutive_misses desc, driver limit %s""",
		(business_date, miss_limit, limit),
	)
	return [
		{"driver": driver, "consecutive_misses": int(misses), "rollover_kes": to_kes(rollover)}
		for driver, misses, rollover in rows
	]
