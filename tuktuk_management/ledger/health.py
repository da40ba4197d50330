"""Is the scheduled work being done? Read from the books alone (no frappe).

Each check returns a :class:`Check` with a level: ``ok``; ``warning`` (degraded: work is late
or someone should look); ``critical`` (the books are not being kept: a close or reconciliation
overdue, a reconciliation that failed). The Frappe layer (``tuktuk_management.health``) adds
the scheduler and email checks, and turns the worst level into the exit code of
``bench tuktuk-health`` (0 ok, 1 warning, 2 critical).

**Which close is overdue.** The close for business date D is due at D ``daily_close_time``
(site time zone) and must be finished ``CLOSE_GRACE`` later. At ``now``, the latest date whose
close must be finished is ``due_business_date(now - grace, close_time)``; it is overdue while an
Active driver created before D+1 00:00 has ``last_close_date`` before D. A missed earlier day
makes that driver due for D as well (the close for D covers every unclosed day), so one date is
enough.

**Which reconciliation is overdue.** The scheduled run is due every day at
``reconciliation_time``; the run due at the latest such moment ``RECONCILIATION_GRACE`` ago
must have started (a scheduled run started at or after that moment). Moments before
``active_since`` (when the app started keeping books on this site) are not counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta

from tuktuk_management.ledger import doctypes, reconcile
from tuktuk_management.ledger.callback_log import ATTEMPTS_MAX as CALLBACK_ATTEMPTS_MAX
from tuktuk_management.ledger.close import day_end, due_business_date
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.status import CallbackEndpoint, LogStatus, PayoutStatus

OK = "ok"
WARNING = "warning"
CRITICAL = "critical"
LEVELS = (OK, WARNING, CRITICAL)  # in order of severity
EXIT_CODES = {OK: 0, WARNING: 1, CRITICAL: 2}

CLOSE_GRACE = timedelta(minutes=30)  # a close chain of a few thousand drivers takes minutes
RECONCILIATION_GRACE = timedelta(minutes=30)
CALLBACK_WAIT_WARNING = timedelta(minutes=15)  # three runs of the 5-minute catch-up
QUEUED_PAYOUT_WARNING = timedelta(minutes=15)  # three runs of the 5-minute payout job
IN_FLIGHT_PAYOUT_WARNING = timedelta(hours=1)  # as the stuck-payout alert
CLOSE_DATES_SHOWN = 7

SCHEDULED_RECONCILIATION = reconcile.SCHEDULED_TRIGGER
RECONCILIATION_DRIFT = (reconcile.DRIFT_FOUND, reconcile.FIXED)
PAYOUT_WAITING = (PayoutStatus.QUEUED, *PayoutStatus.IN_FLIGHT)


@dataclass(frozen=True)
class Check:
	"""One health check: ``name``, ``level`` (ok/warning/critical), a one-line ``message`` for a
	person, and ``details`` (JSON-friendly figures)."""

	name: str
	level: str
	message: str
	details: dict = field(default_factory=dict)

	def as_dict(self) -> dict:
		return asdict(self)


def worst(levels) -> str:
	"""The most severe of ``levels`` (``ok`` for none)."""
	return max(levels, key=LEVELS.index, default=OK)


def minutes(delta: timedelta) -> int:
	return int(delta.total_seconds() // 60)


def iso(value) -> str | None:
	return value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else value


# The daily close ---------------------------------------------------------------------------------


def close_due_at(business_date: date, close_time: time) -> datetime:
	"""When the close of ``business_date`` is due (naive, site time zone)."""
	return datetime.combine(business_date, close_time)


def close_must_be_done(now: datetime, close_time: time, grace: timedelta = CLOSE_GRACE) -> date:
	"""The latest business date whose close must be finished at ``now``: its close time plus
	``grace`` has passed."""
	return due_business_date(now - grace, close_time)


def drivers_not_closed(db: Database, business_date: date) -> int:
	"""Active drivers created before D+1 00:00 whose last close is before D (the close's own
	rule, ``close.drivers_due``), counted."""
	rows = db.sql(
		f"""select count(*) from `tab{doctypes.DRIVER}`
		where status = 'Active' and (last_close_date is null or last_close_date < %s) and creation < %s""",
		(business_date, day_end(business_date)),
	)
	return int(rows[0][0])


def recent_closes(db: Database, today: date, days: int = CLOSE_DATES_SHOWN) -> list[dict]:
	"""The last ``days`` business dates that have closes: ``{"business_date", "drivers_closed",
	"targets_met", "first_closed_at", "last_closed_at"}``, newest first."""
	rows = db.sql(
		f"""select business_date, count(*), sum(target_met), min(closed_at), max(closed_at)
		from `tab{doctypes.DAILY_CLOSE}` where business_date >= %s
		group by business_date order by business_date desc limit %s""",
		(today - timedelta(days=days + 1), days),
	)
	return [
		{
			"business_date": str(business_date),
			"drivers_closed": int(count),
			"targets_met": int(met or 0),
			"first_closed_at": iso(first),
			"last_closed_at": iso(last),
		}
		for business_date, count, met, first, last in rows
	]


def check_daily_close(
	db: Database, now: datetime, settings: LedgerSettings, grace: timedelta = CLOSE_GRACE
) -> Check:
	"""Critical when the close that must be finished (see the module docstring) left drivers
	unclosed; ok otherwise, with the close in progress (if any) and the recent closes."""
	must_be_done = close_must_be_done(now, settings.daily_close_time, grace)
	due = due_business_date(now, settings.daily_close_time)
	left_overdue = drivers_not_closed(db, must_be_done)
	left_due = drivers_not_closed(db, due) if due != must_be_done else left_overdue
	details = {
		"daily_close_time": settings.daily_close_time.isoformat(),
		"due_business_date": due.isoformat(),
		"due_at": iso(close_due_at(due, settings.daily_close_time)),
		"drivers_not_closed": left_due,
		"overdue": left_overdue > 0,
		"recent_closes": recent_closes(db, now.date()),
	}
	if left_overdue:
		late = now - close_due_at(must_be_done, settings.daily_close_time)
		details.update(overdue_business_date=must_be_done.isoformat(), overdue_minutes=minutes(late))
		return Check(
			"daily_close",
			CRITICAL,
			f"Daily close for {must_be_done} is overdue: {left_overdue} driver(s) not closed "
			f"{minutes(late)} min after {settings.daily_close_time:%H:%M}.",
			details,
		)
	if left_due:
		return Check(
			"daily_close",
			OK,
			f"Daily close for {due} due at {settings.daily_close_time:%H:%M}: {left_due} driver(s) to close.",
			details,
		)
	last = details["recent_closes"][0] if details["recent_closes"] else None
	message = (
		f"Daily close up to date (last: {last['business_date']}, {last['drivers_closed']} driver(s), "
		f"finished {last['last_closed_at']})."
		if last
		else "Daily close up to date (no driver closed yet)."
	)
	return Check("daily_close", OK, message, details)


# Reconciliation ----------------------------------------------------------------------------------


def reconciliation_due_at(now: datetime, reconciliation_time: time) -> datetime:
	"""The latest moment at or before ``now`` when the daily reconciliation was due."""
	today = datetime.combine(now.date(), reconciliation_time)
	return today if today <= now else today - timedelta(days=1)


def last_runs(db: Database) -> tuple[dict | None, dict | None]:
	"""The latest reconciliation run of any kind and the latest scheduled one:
	``{"run", "status", "triggered_by", "started_at", "finished_at", "drivers_checked",
	"total_discrepancy_kes", "invariant_breaches"}`` or None."""

	def one(where: str, values: tuple) -> dict | None:
		rows = db.sql(
			f"""select name, status, triggered_by, started_at, finished_at, drivers_checked,
				total_discrepancy_kes, invariant_breaches
			from `tab{doctypes.RECONCILIATION_RUN}` {where} order by started_at desc, name desc limit 1""",
			values,
		)
		if not rows:
			return None
		name, status, by, started, finished, checked, total, breaches = rows[0]
		return {
			"run": name,
			"status": status,
			"triggered_by": by,
			"started_at": iso(started),
			"finished_at": iso(finished),
			"drivers_checked": int(checked or 0),
			"total_discrepancy_kes": to_kes(total or 0),
			"invariant_breaches": int(breaches or 0),
		}

	return one("", ()), one("where triggered_by = %s", (SCHEDULED_RECONCILIATION,))


def check_reconciliation(
	db: Database,
	now: datetime,
	settings: LedgerSettings,
	*,
	active_since: datetime | None = None,
	grace: timedelta = RECONCILIATION_GRACE,
) -> Check:
	"""Critical when the scheduled run due ``grace`` ago has not started, or the latest scheduled
	run ended in Error; warning when it found drift; ok otherwise."""
	must_have_started = reconciliation_due_at(now - grace, settings.reconciliation_time)
	last, last_scheduled = last_runs(db)
	started = db.sql(
		f"""select count(*) from `tab{doctypes.RECONCILIATION_RUN}`
		where triggered_by = %s and started_at >= %s""",
		(SCHEDULED_RECONCILIATION, must_have_started),
	)[0][0]
	counted = active_since is None or must_have_started >= active_since
	details = {
		"reconciliation_time": settings.reconciliation_time.isoformat(),
		"due_at": iso(must_have_started),
		"overdue": bool(counted and not started),
		"last_run": last,
		"last_scheduled_run": last_scheduled,
	}
	if counted and not started:
		late = now - must_have_started
		details["overdue_minutes"] = minutes(late)
		return Check(
			"reconciliation",
			CRITICAL,
			f"Reconciliation due at {iso(must_have_started)} has not run ({minutes(late)} min late).",
			details,
		)
	if last_scheduled and last_scheduled["status"] == reconcile.ERROR:
		return Check(
			"reconciliation",
			CRITICAL,
			f"Last scheduled reconciliation {last_scheduled['run']} ended in Error.",
			details,
		)
	if last_scheduled and last_scheduled["status"] in RECONCILIATION_DRIFT:
		return Check(
			"reconciliation",
			WARNING,
			f"Last scheduled reconciliation {last_scheduled['run']} found drift "
			f"({last_scheduled['total_discrepancy_kes']} KES, {last_scheduled['invariant_breaches']} "
			"invariant breaches).",
			details,
		)
	if last_scheduled is None:
		return Check("reconciliation", OK, "No scheduled reconciliation due yet.", details)
	return Check(
		"reconciliation",
		OK,
		f"Last scheduled reconciliation {last_scheduled['run']}: {last_scheduled['status']} "
		f"({last_scheduled['started_at']}).",
		details,
	)


# Callbacks and payouts ---------------------------------------------------------------------------


def check_callbacks(
	db: Database, now: datetime, settings: LedgerSettings, wait: timedelta = CALLBACK_WAIT_WARNING
) -> Check:
	"""Callbacks stored but not applied (Received, or Failed with attempts left) and their oldest
	age; Failed ones out of attempts wait for a manager. Warning when the oldest waiting one is
	older than ``wait``, when some are out of attempts, or while processing is paused."""
	rows = db.sql(
		f"""select endpoint, status, attempts >= %s, count(*), min(received_at)
		from `tab{doctypes.CALLBACK_LOG}` where endpoint <> %s and status in %s
		group by endpoint, status, attempts >= %s""",
		(CALLBACK_ATTEMPTS_MAX, CallbackEndpoint.C2B_VALIDATION, LogStatus.WAITING, CALLBACK_ATTEMPTS_MAX),
	)
	waiting = sum(int(count) for _e, _s, exhausted, count, _o in rows if not exhausted)
	given_up = sum(int(count) for _e, _s, exhausted, count, _o in rows if exhausted)
	oldest = min((o for _e, _s, exhausted, _c, o in rows if not exhausted and o), default=None)
	age = minutes(now - oldest) if oldest else 0
	by_endpoint: dict[str, int] = {}
	for endpoint, _status, exhausted, count, _oldest in rows:
		if not exhausted:
			by_endpoint[endpoint] = by_endpoint.get(endpoint, 0) + int(count)
	details = {
		"waiting": waiting,
		"waiting_by_endpoint": by_endpoint,
		"oldest_received_at": iso(oldest),
		"oldest_age_minutes": age,
		"failed_out_of_attempts": given_up,
		"processing_paused": settings.processing_paused,
	}
	problems = []
	if settings.processing_paused:
		problems.append("processing is paused in TukTuk Settings")
	if waiting and now - oldest > wait:
		problems.append(f"{waiting} stored callback(s) not applied, oldest {age} min")
	if given_up:
		problems.append(f"{given_up} callback(s) Failed with no attempts left (apply by hand)")
	if problems:
		return Check("callbacks", WARNING, "Callbacks: " + "; ".join(problems) + ".", details)
	return Check("callbacks", OK, f"Callbacks: {waiting} waiting to be applied.", details)


def check_payouts(db: Database, now: datetime) -> Check:
	"""Payouts Queued, Sent and Unknown with the oldest age of each (Queued since ``queued_at``,
	Sent since ``sent_at``, Unknown since the last attempt). Warning when a Queued payout is older
	than QUEUED_PAYOUT_WARNING or a Sent/Unknown one than IN_FLIGHT_PAYOUT_WARNING."""
	rows = db.sql(
		f"""select status, count(*), min(case status when %s then queued_at
			when %s then coalesce(sent_at, last_attempt_at, queued_at)
			else coalesce(last_attempt_at, queued_at) end)
		from `tab{doctypes.PAYOUT}` where status in %s group by status""",
		(PayoutStatus.QUEUED, PayoutStatus.SENT, PAYOUT_WAITING),
	)
	by_status = {
		status: {"count": 0, "oldest_since": None, "oldest_age_minutes": 0} for status in PAYOUT_WAITING
	}
	for status, count, oldest in rows:
		by_status[status] = {
			"count": int(count),
			"oldest_since": iso(oldest),
			"oldest_age_minutes": minutes(now - oldest) if oldest else 0,
		}
	problems = []
	for status in PAYOUT_WAITING:
		limit = QUEUED_PAYOUT_WARNING if status == PayoutStatus.QUEUED else IN_FLIGHT_PAYOUT_WARNING
		entry = by_status[status]
		if entry["count"] and entry["oldest_age_minutes"] * 60 > limit.total_seconds():
			problems.append(f"{entry['count']} {status}, oldest {entry['oldest_age_minutes']} min")
	summary = ", ".join(f"{by_status[s]['count']} {s}" for s in PAYOUT_WAITING)
	if problems:
		return Check("payouts", WARNING, "Payouts waiting too long: " + "; ".join(problems) + ".", by_status)
	return Check("payouts", OK, f"Payouts: {summary}.", by_status)


def check_books_schedule(
	db: Database, now: datetime, settings: LedgerSettings, *, active_since: datetime | None = None
) -> list[Check]:
	"""The four checks that read the books, in report order."""
	return [
		check_daily_close(db, now, settings),
		check_reconciliation(db, now, settings, active_since=active_since),
		check_callbacks(db, now, settings),
		check_payouts(db, now),
	]
