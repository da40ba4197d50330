"""The watchdog of the scheduled work (see docs/scheduling.md).

- :func:`report`: the scheduler (enabled, not dormant, the app's minute job running), whether
  alerts can be emailed, and the checks that read the books (``ledger.health``: daily close,
  reconciliation, callbacks, payouts). Used by ``bench --site SITE tuktuk-health``, the
  whitelisted ``tuktuk_management.api.health.status`` and the workspace card.
- :func:`watch`: the scheduled watchdog (every 15 minutes): keeps the site's scheduler active,
  and alerts managers once when the daily close or the reconciliation is overdue.
- :func:`keep_site_active`: Frappe runs the scheduled jobs of a site with no recent Activity Log
  (``dormant_days``, or none at all on a site nobody ever logged into) at most once a day; the
  app records one Activity Log entry every KEEP_ACTIVE_EVERY so its minute crons keep running.
- :func:`on_system_settings_update` (doc_events): after a time zone change, the app's Scheduled
  Job Types whose last execution lies in the future (stamped in the old zone) are set to now, so
  their crons run again at once rather than hours later.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import frappe
from frappe.utils import get_datetime, now_datetime

from tuktuk_management import alerts
from tuktuk_management.ledger import health
from tuktuk_management.ledger.health import CRITICAL, OK, WARNING, Check
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, load_settings

APP_JOB_PREFIX = "tuktuk_management."
MINUTE_JOB = "tuktuk_management.tasks.run_due_daily_close"  # "* * * * *": the scheduler's pulse
RECONCILIATION_JOB = "tuktuk_management.tasks.run_due_reconciliation"
MINUTE_JOB_LATE_AFTER = timedelta(minutes=5)
FUTURE_STAMP_TOLERANCE = timedelta(minutes=2)
KEEP_ACTIVE_EVERY = timedelta(hours=12)  # well inside dormant_days (1 day at the least)
ACTIVITY_SUBJECT = "TukTuk Management keeps the scheduler active (daily close, reconciliation, payouts)"
ALERT_SENT_TTL_S = 3 * 24 * 3600
ALERT_KEY = "tuktuk_management:overdue_alert:{check}:{moment}"


# Scheduler -----------------------------------------------------------------------------------------


def keep_scheduler_active_enabled() -> bool:
	"""TukTuk Settings ``keep_scheduler_active`` (default on)."""
	value = frappe.db.get_single_value(SETTINGS_DOCTYPE, "keep_scheduler_active", cache=False)
	return value is None or str(value).strip() in ("", "1")


def last_activity() -> datetime | None:
	value = frappe.db.get_value("Activity Log", {}, "modified", order_by="modified desc")
	return get_datetime(value) if value else None


def keep_site_active(now: datetime | None = None) -> bool:
	"""Record an Activity Log entry if the latest one is older than KEEP_ACTIVE_EVERY (or there is
	none) and TukTuk Settings ``keep_scheduler_active`` is on; clear Frappe's one-hour memo of the
	site's activity so a dormant site wakes at once. Returns True if an entry was recorded."""
	from frappe.utils.scheduler import schedule_jobs_based_on_activity

	now = now or now_datetime()
	if not keep_scheduler_active_enabled():
		return False
	last = last_activity()
	if last and now - last < KEEP_ACTIVE_EVERY:
		return False
	frappe.get_doc(
		{
			"doctype": "Activity Log",
			"subject": ACTIVITY_SUBJECT,
			"status": "Success",
			"user": "Administrator",
			"reference_doctype": SETTINGS_DOCTYPE,
			"reference_name": SETTINGS_DOCTYPE,
		}
	).insert(ignore_permissions=True)
	schedule_jobs_based_on_activity.clear_cache()
	return True


def _job(method: str) -> frappe._dict | None:
	return frappe.db.get_value(
		"Scheduled Job Type",
		{"method": method},
		["name", "last_execution", "stopped", "creation"],
		as_dict=True,
	)


def check_scheduler(now: datetime) -> Check:
	"""Critical when the site's scheduled jobs are not running: maintenance mode, the scheduler
	paused or disabled, the site dormant, or the app's minute job not run for
	MINUTE_JOB_LATE_AFTER (no ``bench schedule`` or no worker) or stamped in the future."""
	from frappe.utils.scheduler import is_dormant

	conf = frappe.local.conf
	enabled = bool(frappe.utils.cint(frappe.db.get_single_value("System Settings", "enable_scheduler")))
	dormant = bool(is_dormant())
	job = _job(MINUTE_JOB)
	last = get_datetime(job.last_execution) if job and job.last_execution else None
	created = get_datetime(job.creation) if job and job.creation else None
	activity = last_activity()
	details = {
		"enabled": enabled and not conf.disable_scheduler,
		"paused": bool(conf.pause_scheduler),
		"maintenance_mode": bool(conf.maintenance_mode),
		"dormant": dormant,
		"dormant_days": frappe.get_system_settings("dormant_days") or 4,
		"last_activity": health.iso(activity),
		"keep_scheduler_active": keep_scheduler_active_enabled(),
		"minute_job": MINUTE_JOB,
		"minute_job_last_execution": health.iso(last),
		"minute_job_stopped": bool(job and job.stopped),
		"time_zone": frappe.get_system_settings("time_zone") or "",
	}
	problems = []
	if conf.maintenance_mode:
		problems.append("the site is in maintenance mode")
	if conf.pause_scheduler:
		problems.append("the scheduler is paused (site config pause_scheduler)")
	if conf.disable_scheduler or not enabled:
		problems.append("the scheduler is disabled (bench --site SITE enable-scheduler)")
	if dormant:
		problems.append(
			"the site is dormant: no Activity Log for dormant_days, scheduled jobs run at most once a day"
		)
	if job is None:
		problems.append(f"{MINUTE_JOB} is not a Scheduled Job Type (bench --site SITE migrate)")
	elif job.stopped:
		problems.append(f"Scheduled Job Type {job.name} is stopped")
	elif last is None and created and created > now + FUTURE_STAMP_TOLERANCE:
		problems.append(
			f"the app's minute job was created at {health.iso(created)}, in the future, and has never run: "
			"the time zone changed (bench --site SITE tuktuk-health --reset-job-stamps)"
		)
	elif last is None:
		problems.append("the app's minute job has never run (is bench schedule running, with workers?)")
	elif last > now + FUTURE_STAMP_TOLERANCE:
		problems.append(
			f"the app's minute job last ran at {health.iso(last)}, in the future: the time zone changed "
			"(bench --site SITE tuktuk-health --reset-job-stamps)"
		)
	elif now - last > MINUTE_JOB_LATE_AFTER:
		problems.append(
			f"the app's minute job last ran {health.minutes(now - last)} min ago "
			"(is bench schedule running, with workers?)"
		)
	if problems:
		return Check("scheduler", CRITICAL, "Scheduler: " + "; ".join(problems) + ".", details)
	return Check("scheduler", OK, f"Scheduler running (last minute job {health.iso(last)}).", details)


def check_email() -> Check:
	"""Warning when alerts cannot be emailed (no outgoing Email Account, emails muted, no
	recipients): they then reach the desk notifications only."""
	account = alerts.outgoing_email_account()
	settings = load_settings(frappe.db)
	recipients = alerts.recipients()
	payout_recipients = alerts.payout_recipients()
	details = {
		"outgoing_email_account": account,
		"emails_muted": bool(frappe.flags.mute_emails or frappe.local.conf.mute_emails),
		"alert_recipients": len(recipients),
		"payout_alert_recipients": len(payout_recipients),
		"reconciliation_recipients_set": bool(settings.reconciliation_recipients.strip()),
	}
	problems = []
	if not account:
		problems.append("no default outgoing Email Account (Settings > Email Account)")
	if details["emails_muted"]:
		problems.append("emails are muted on this site")
	if not recipients:
		problems.append("no Reconciliation Alert Recipients in TukTuk Settings")
	if problems:
		return Check(
			"email",
			WARNING,
			"Alerts cannot be emailed (desk notifications only): " + "; ".join(problems) + ".",
			details,
		)
	return Check(
		"email", OK, f"Alerts are emailed through {account} to {len(recipients)} recipient(s).", details
	)


def active_since() -> datetime | None:
	"""When the app's scheduled reconciliation job was registered on this site (install)."""
	job = _job(RECONCILIATION_JOB)
	return get_datetime(job.creation) if job and job.creation else None


def report(now: datetime | None = None) -> dict:
	"""The health report: ``{"status": ok|warning|critical, "exit_code": 0|1|2, "site",
	"checked_at", "checks": [{"name", "level", "message", "details"}]}``. A check that fails
	is reported as critical with its error (the others still run)."""
	now = now or now_datetime()
	checks: list[Check] = []
	for name, run in (
		("scheduler", lambda: [check_scheduler(now)]),
		("email", lambda: [check_email()]),
		(
			"books",
			lambda: health.check_books_schedule(
				frappe.db, now, load_settings(frappe.db), active_since=active_since()
			),
		),
	):
		try:
			checks += run()
		except Exception as exc:
			frappe.db.rollback()
			checks.append(Check(name, CRITICAL, f"The {name} check failed: {type(exc).__name__}: {exc}"))
	status = health.worst(check.level for check in checks)
	return {
		"status": status,
		"exit_code": health.EXIT_CODES[status],
		"site": frappe.local.site,
		"checked_at": health.iso(now),
		"checks": [check.as_dict() for check in checks],
	}


def summary_line(result: dict) -> str:
	"""One line for the workspace card: "Healthy", or the worst problems' check names."""
	problems = [c for c in result["checks"] if c["level"] != OK]
	if not problems:
		return "Healthy"
	worst = [c["name"].replace("_", " ") for c in problems if c["level"] == result["status"]]
	label = "Critical" if result["status"] == CRITICAL else "Degraded"
	return f"{label}: {', '.join(worst)}"


# Watchdog --------------------------------------------------------------------------------------------


def watch(now: datetime | None = None) -> dict:
	"""Scheduled every 15 minutes: keep the site active, then alert managers (desk always, email
	when possible) once per overdue close date and once per overdue reconciliation. Returns
	``{"kept_active": bool, "alerted": [check names]}``."""
	now = now or now_datetime()
	kept_active = keep_site_active(now)
	result = report(now)
	alerted = []
	for check in result["checks"]:
		if check["name"] not in ("daily_close", "reconciliation") or not check["details"].get("overdue"):
			continue
		details = check["details"]
		moment = details.get("overdue_business_date") or details.get("due_at")
		key = ALERT_KEY.format(check=check["name"], moment=moment)
		if frappe.cache.get_value(key, expires=True):
			continue
		frappe.cache.set_value(key, 1, expires_in_sec=ALERT_SENT_TTL_S)
		alerts.send_overdue_alert(check["name"], check["message"], result)
		alerted.append(check["name"])
	return {"kept_active": kept_active, "alerted": alerted}


# Time zone change ------------------------------------------------------------------------------------


def reset_future_job_stamps(now: datetime) -> list[str]:
	"""Set ``last_execution`` to ``now`` for the app's Scheduled Job Types stamped after ``now``
	(in the old zone; ``creation`` for a job that never ran): Frappe waits for the next cron time
	after the stamp. Returns their names."""
	# A job that never ran is timed from its creation, stamped in the zone of the install.
	names = frappe.db.sql_list(  # nosemgrep: frappe-using-db-sql -- the app's Scheduled Job Types by method prefix
		"""select name from `tabScheduled Job Type` where method like %s
		and (last_execution > %s or (last_execution is null and creation > %s))""",
		(APP_JOB_PREFIX + "%", now, now),
	)
	for name in names:
		frappe.db.set_value("Scheduled Job Type", name, "last_execution", now, update_modified=False)
	return names


def on_system_settings_update(doc, method=None) -> None:
	"""doc_events System Settings on_update: after a time zone change, bring the app's job stamps
	back to the present of the new zone."""
	if not doc.has_value_changed("time_zone") or not doc.time_zone:
		return
	try:
		zone = ZoneInfo(doc.time_zone)
	except (ZoneInfoNotFoundError, ValueError):
		return
	names = reset_future_job_stamps(datetime.now(zone).replace(tzinfo=None))
	if names:
		frappe.logger("scheduler").info(f"time zone now {doc.time_zone}: reset {', '.join(names)}")
