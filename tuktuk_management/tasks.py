"""Scheduler entry points (``hooks.scheduler_events``): bounded batches, one unit of work each."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import get_url, now_datetime

from tuktuk_management.alerts import payout_recipients, send_alert
from tuktuk_management.api.b2c import apply_stored_result
from tuktuk_management.api.c2b import apply_stored_confirmation
from tuktuk_management.api.payouts import daraja_client
from tuktuk_management.ledger import payouts
from tuktuk_management.ledger.callback_log import pending_confirmations
from tuktuk_management.ledger.settings import load_settings

PENDING_CALLBACKS_BATCH_MAX = 100


def process_pending_callbacks(batch_size_max: int = PENDING_CALLBACKS_BATCH_MAX) -> dict[str, int]:
	"""Apply stored C2B confirmations still Received (processing was paused) or Failed with
	attempts left, oldest first, at most ``batch_size_max`` per run (the next run takes the rest).

	Does nothing while TukTuk Settings' ``processing_paused`` is on. Each log is applied in its
	own unit of work (deadlocks retried, other errors mark it Failed) and committed. Returns the
	count of logs per resulting status.
	"""
	settings = load_settings(frappe.db)
	if settings.processing_paused:
		return {}
	counts: dict[str, int] = {}
	for log, raw_body in pending_confirmations(frappe.db, limit=batch_size_max):
		# apply_stored_confirmation commits after each log: a deliberate job-chunk boundary, so a
		# failure or a worker crash later in the batch never undoes payments already applied.
		status, _transaction = apply_stored_confirmation(log, raw_body, settings=settings, now=now_datetime())
		counts[status] = counts.get(status, 0) + 1
	return counts


# -- Daily close and reconciliation (DESIGN §5, §6) ------------------------------------------------
CLOSE_JOB_TIMEOUT_S = 1_500
CLOSE_CHAIN_TTL_S = 900  # a close chain that made no progress for this long may be restarted
MISS_ALERT_TTL_S = 2 * 24 * 3600  # one miss-limit alert per business date
SCHEDULER_USER = "Administrator"


def _close_chain_key(business_date: str) -> str:
	return f"tuktuk_management:close_chain:{business_date}"


def run_due_daily_close() -> str | None:
	"""Every minute (``hooks.scheduler_events``): once ``daily_close_time`` has passed (site time
	zone) and some Active driver is not yet closed for the due business date, start a chain of
	chunked close jobs on the ``long`` queue. Returns the business date started, or None.

	The due date is today once the close time has passed, else yesterday (a missed close is
	caught up). A chain in progress (Redis key refreshed by each chunk) is not started twice.
	"""
	from tuktuk_management.ledger.close import drivers_due, due_business_date

	settings = load_settings(frappe.db)
	business_date = due_business_date(now_datetime(), settings.daily_close_time)
	if not drivers_due(frappe.db, business_date, limit=1):
		return None
	key = _close_chain_key(business_date.isoformat())
	if frappe.cache().get_value(key, expires=True):
		return None
	frappe.cache().set_value(key, 1, expires_in_sec=CLOSE_CHAIN_TTL_S)
	_enqueue_close_chunk(business_date.isoformat(), after="")
	return business_date.isoformat()


def _enqueue_close_chunk(business_date: str, after: str) -> None:
	frappe.enqueue(
		"tuktuk_management.tasks.close_day_chunk",
		queue="long",
		timeout=CLOSE_JOB_TIMEOUT_S,
		job_id=f"tuktuk-close-{business_date}-{after or 'start'}",
		deduplicate=True,
		enqueue_after_commit=True,
		business_date=business_date,
		after=after,
	)


def close_day_chunk(business_date: str, after: str = "") -> dict:
	"""Background job: close up to ``CLOSE_BATCH_MAX`` due drivers after ``after`` for
	``business_date`` (YYYY-MM-DD), one committed unit of work per driver, then enqueue the next
	chunk; the last chunk sends the miss-limit alert. Returns the chunk's summary."""
	from datetime import date

	from tuktuk_management.alerts import send_miss_limit_alert
	from tuktuk_management.ledger.close import close_day, miss_limit_drivers

	settings = load_settings(frappe.db)
	day = date.fromisoformat(business_date)
	key = _close_chain_key(business_date)
	frappe.cache().set_value(key, 1, expires_in_sec=CLOSE_CHAIN_TTL_S)
	summary = close_day(
		frappe.db,
		day,
		settings=settings,
		clock=now_datetime,
		commit=frappe.db.commit,  # one driver per transaction: a deliberate unit-of-work boundary
		rollback=frappe.db.rollback,
		after=after,
		user=SCHEDULER_USER,
	)
	if summary.errors:
		frappe.log_error(
			title="TukTuk daily close failed",
			message="\n".join(f"{e['driver']}: {e['error']}" for e in summary.errors),
		)
		frappe.db.commit()  # nosemgrep: keep the error log
	if not summary.done:
		_enqueue_close_chunk(business_date, after=summary.last_driver)
		frappe.db.commit()  # nosemgrep: enqueue_after_commit fires on commit
		return summary.as_dict()
	if not summary.errors:
		frappe.cache().delete_value(key)
	# else the key expires after CLOSE_CHAIN_TTL_S: failed drivers are retried by a later tick,
	# at most every 15 minutes (not every minute), each retry logging its errors.
	alert_key = f"tuktuk_management:miss_limit_alert:{business_date}"
	if not frappe.cache().get_value(alert_key, expires=True):
		frappe.cache().set_value(alert_key, 1, expires_in_sec=MISS_ALERT_TTL_S)
		send_miss_limit_alert(business_date, miss_limit_drivers(frappe.db, day, settings.miss_limit))
		frappe.db.commit()  # nosemgrep: the alert's Email Queue rows and notifications
	return summary.as_dict()


def run_due_reconciliation() -> bool:
	"""Every minute: once ``reconciliation_time`` has passed today (site time zone) and no
	scheduled run started since then, enqueue the daily reconciliation (a dry run) on the
	``long`` queue. Returns True if a job was enqueued."""
	from datetime import datetime

	from tuktuk_management.api.reconciliation import SCHEDULER
	from tuktuk_management.ledger.reconcile import RUN_DOCTYPE

	settings = load_settings(frappe.db)
	now = now_datetime()
	if now.time() < settings.reconciliation_time:
		return False
	since = datetime.combine(now.date(), settings.reconciliation_time)
	if frappe.db.exists(RUN_DOCTYPE, {"triggered_by": SCHEDULER, "started_at": (">=", since)}):
		return False
	frappe.enqueue(
		"tuktuk_management.api.reconciliation.scheduled_reconciliation",
		queue="long",
		timeout=CLOSE_JOB_TIMEOUT_S,
		job_id=f"tuktuk-reconcile-{now.date().isoformat()}",
		deduplicate=True,
	)
	return True


def process_payouts(batch_size_max: int = payouts.BATCH_MAX) -> dict[str, int]:
	"""Every 5 minutes: apply B2C result/timeout bodies left Received or Failed, then send Queued
	payouts left behind, retry Failed ones whose retry is due and resolve Unknown/silent Sent
	ones by Transaction Status (``ledger.payouts.run_due_payouts``), each in its own units of work.

	Results are applied even without Daraja credentials (they move no money out); sending and
	resolving wait until Daraja is configured. Returns counts per action and status.
	"""
	counts: dict[str, int] = {}
	settings = load_settings(frappe.db)
	for log, endpoint, raw_body in payouts.pending_result_logs(frappe.db, limit=batch_size_max):
		# apply_stored_result commits after each body: a job-chunk boundary.
		status = apply_stored_result(log, raw_body, endpoint=endpoint, settings=settings, now=now_datetime())
		counts[f"result:{status}"] = counts.get(f"result:{status}", 0) + 1
	client = daraja_client()
	if client is None:
		return counts
	due = payouts.run_due_payouts(
		frappe.db,
		client=client,
		settings=settings,
		clock=now_datetime,
		commit=frappe.db.commit,  # each payout's claim and reply are their own units of work
		batch_size_max=batch_size_max,
	)
	for key, count in due.items():
		counts[key] = counts.get(key, 0) + count
	return counts


def alert_stuck_payouts() -> list[str]:
	"""Hourly: payouts Sent or Unknown for over an hour are emailed to TukTuk Settings'
	``payout_alert_recipients`` (template ``tuktuk_stuck_payouts``) and put in the desk
	notifications of every TukTuk Manager. Returns the stuck payout names (at most 100)."""
	stuck = payouts.stuck_payouts(frappe.db, now_datetime())
	if not stuck:
		return []
	subject = _("{0} M-Pesa payout(s) waiting for Daraja for over an hour").format(len(stuck))
	send_alert(
		subject,
		to=payout_recipients(),
		template="tuktuk_stuck_payouts",
		args={"payouts": stuck, "site_url": get_url(), "count": len(stuck)},
		document_type="TukTuk Payout",
		document_name=stuck[0]["name"],
		email_content=", ".join(row["name"] for row in stuck[:20]),
	)
	return [row["name"] for row in stuck]


# -- Watchdog of the scheduled work (docs/scheduling.md) ------------------------------------------


def watch_scheduled_work() -> dict:
	"""Every 15 minutes: keep the site's scheduler active (one Activity Log entry every 12 hours)
	and alert managers once when the daily close or the reconciliation is overdue
	(``tuktuk_management.health.watch``)."""
	from tuktuk_management.health import watch

	return watch()
