"""Background jobs: the scheduler's entry points (``hooks.scheduler_events``) and the jobs the app
enqueues (the payout job, the daily close chunks, the daily reconciliation).

Every job works in bounded batches, one committed unit of work each, and is named for what it
does in the site, not after the core function it calls. Whitelisted methods live in ``api/``.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import frappe
from frappe import _
from frappe.utils import get_url, now_datetime

from tuktuk_management.alerts import payout_recipients, send_alert
from tuktuk_management.daraja.client import DarajaClient, DarajaConfig
from tuktuk_management.daraja_tokens import RedisTokenCache
from tuktuk_management.ledger import payouts
from tuktuk_management.ledger.callback_log import pending_confirmations
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, load_settings

PENDING_CALLBACKS_BATCH_MAX = 100
PAYOUT_JOB = "tuktuk_management.tasks.send_payout_job"
PAYOUT_JOB_QUEUE = "short"
PAYOUT_JOB_TIMEOUT_S = 300
RECONCILIATION_JOB = "tuktuk_management.tasks.reconciliation_job"
NOT_CONFIGURED = "Daraja credentials are not configured in TukTuk Settings"


def process_pending_callbacks(batch_size_max: int = PENDING_CALLBACKS_BATCH_MAX) -> dict[str, int]:
	"""Apply stored C2B confirmations still Received (processing was paused) or Failed with
	attempts left, oldest first, at most ``batch_size_max`` per run (the next run takes the rest).

	Does nothing while TukTuk Settings' ``processing_paused`` is on. Each log is applied in its
	own unit of work (deadlocks retried, other errors mark it Failed) and committed. Returns the
	count of logs per resulting status.
	"""
	from tuktuk_management.stored_callbacks import apply_confirmation_log

	settings = load_settings(frappe.db)
	if settings.processing_paused:
		return {}
	counts: dict[str, int] = {}
	for log, raw_body in pending_confirmations(frappe.db, limit=batch_size_max):
		# apply_confirmation_log commits after each log: a deliberate job-chunk boundary, so a
		# failure or a worker crash later in the batch never undoes payments already applied.
		status = apply_confirmation_log(log, raw_body, settings=settings, now=now_datetime()).status
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
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- keep the error log
	if not summary.done:
		_enqueue_close_chunk(business_date, after=summary.last_driver)
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- enqueue_after_commit fires on commit
		return summary.as_dict()
	if not summary.errors:
		frappe.cache().delete_value(key)
	# else the key expires after CLOSE_CHAIN_TTL_S: failed drivers are retried by a later tick,
	# at most every 15 minutes (not every minute), each retry logging its errors.
	alert_key = f"tuktuk_management:miss_limit_alert:{business_date}"
	if not frappe.cache().get_value(alert_key, expires=True):
		frappe.cache().set_value(alert_key, 1, expires_in_sec=MISS_ALERT_TTL_S)
		send_miss_limit_alert(business_date, miss_limit_drivers(frappe.db, day, settings.miss_limit))
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the alert's Email Queue rows and notifications
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
		RECONCILIATION_JOB,
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
	from tuktuk_management.stored_callbacks import apply_result_log

	counts: dict[str, int] = {}
	settings = load_settings(frappe.db)
	for log, endpoint, raw_body in payouts.pending_result_logs(frappe.db, limit=batch_size_max):
		# apply_result_log commits after each body: a job-chunk boundary.
		status = apply_result_log(
			log, raw_body, endpoint=endpoint, settings=settings, now=now_datetime()
		).status
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


def reconciliation_job() -> dict:
	"""Background job (enqueued by :func:`run_due_reconciliation`): the daily dry run of
	``api.reconciliation.execute_reconciliation`` (fixes are a manager's decision)."""
	from tuktuk_management.alerts import send_drift_alert
	from tuktuk_management.api.reconciliation import SCHEDULER, execute_reconciliation
	from tuktuk_management.api.statement import nightly_figures
	from tuktuk_management.ledger import reconcile

	try:
		external = nightly_figures()  # the latest statement import re-matched (committed)
	except Exception:
		frappe.db.rollback()
		frappe.log_error(title="TukTuk statement matching failed", message=frappe.get_traceback())
		external = None
	result = execute_reconciliation(fix=False, driver=None, triggered_by=SCHEDULER, alert=False)
	if result.status != reconcile.CLEAN or (external and external["differences"]):
		send_drift_alert(result, external=external)
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the alert's Email Queue rows and notifications
	return {**result.as_dict(), "statement": external}


# -- Payouts (DESIGN §4) ---------------------------------------------------------------------------
def enqueue_payout_job(payout: str, *, mode: str = "send", manual: bool = False) -> None:
	"""Enqueue :func:`send_payout_job` after the current transaction commits (one job per payout)."""
	frappe.enqueue(
		PAYOUT_JOB,
		queue=PAYOUT_JOB_QUEUE,
		timeout=PAYOUT_JOB_TIMEOUT_S,
		job_id=f"tuktuk_payout_{payout}",
		deduplicate=True,
		enqueue_after_commit=True,
		payout=payout,
		mode=mode,
		manual=manual,
	)


def send_payout_job(payout: str, mode: str = "send", manual: bool = False) -> dict:
	"""Background job: send (``send``/``retry``) or resolve (``resolve``) one payout with
	``ledger.payouts.send_payout`` / ``resolve_payout``.

	Each step commits its own unit of work (claim; Daraja call with no transaction open;
	reply recorded). Does nothing (and says so) while Daraja is not configured, or while
	instant payouts are off for an automatic first send. Returns ``{"payout", "status",
	"reason"}``.
	"""
	client = daraja_client()
	if client is None:
		return {"payout": payout, "status": None, "reason": NOT_CONFIGURED}
	settings = load_settings(frappe.db)
	if mode == "send" and not manual and not settings.instant_payouts_enabled:
		return {"payout": payout, "status": None, "reason": "instant payouts are switched off"}
	common = {"client": client, "settings": settings, "clock": now_datetime, "commit": frappe.db.commit}
	if mode == "resolve":
		outcome = payouts.resolve_payout(frappe.db, payout, force=manual, **common)
	else:
		outcome = payouts.send_payout(frappe.db, payout, mode=mode, manual=manual, **common)
	return {"payout": outcome.payout, "status": outcome.status, "reason": outcome.reason}


def callback_url(method: str) -> str:
	"""The public URL of a B2C callback endpoint with the callback token."""
	token = frappe.get_single(SETTINGS_DOCTYPE).get_password("callback_token", raise_exception=False) or ""
	return get_url(f"/api/method/tuktuk_management.api.b2c.{method}?token={quote(token, safe='')}")


def daraja_client() -> DarajaClient | None:
	"""A Daraja client from TukTuk Settings, or None while a credential is missing."""
	settings = frappe.get_single(SETTINGS_DOCTYPE)
	secrets = {
		field: settings.get_password(field, raise_exception=False) or ""
		for field in ("daraja_consumer_key", "daraja_consumer_secret", "b2c_security_credential")
	}
	if not all(secrets.values()) or not settings.b2c_shortcode or not settings.b2c_initiator_name:
		return None
	return DarajaClient(
		DarajaConfig(
			consumer_key=secrets["daraja_consumer_key"],
			consumer_secret=secrets["daraja_consumer_secret"],
			shortcode=settings.b2c_shortcode,
			initiator_name=settings.b2c_initiator_name,
			security_credential=secrets["b2c_security_credential"],
			result_url=callback_url("result"),
			timeout_url=callback_url("timeout"),
			environment=settings.daraja_environment or "Sandbox",
			base_url=frappe.conf.get("tuktuk_daraja_base_url") or "",
			command_id=settings.b2c_command_id or "BusinessPayment",
		),
		token_cache=RedisTokenCache(),  # shared by every worker: one OAuth request per token lifetime
	)


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


# -- Driver messages (SMS) -------------------------------------------------------------------------
MESSAGE_JOB = "tuktuk_management.tasks.send_messages_job"
MESSAGE_JOB_QUEUE = "short"
MESSAGE_JOB_TIMEOUT_S = 300
MESSAGE_BATCHES_PER_JOB_MAX = 10  # at most this many batches of ledger.sms.BATCH_MAX per job


# The payment path enqueues the sender at most once a second per process (``throttle``): asking
# Redis whether the job is already queued cost about 0.5 ms per payment, a tenth of a payment
# through Frappe. The sender lingers MESSAGE_JOB_LINGER_S after its last message, so a receipt
# committed inside a throttled second is still picked up by the job enqueued before it.
MESSAGE_ENQUEUE_INTERVAL_S = 1.0
MESSAGE_JOB_LINGER_S = 2.0
MESSAGE_JOB_POLL_S = 0.5
_message_job_enqueued_at: dict[str, float] = {}  # site -> time.monotonic() of this process's last


def enqueue_message_job(*, throttle: bool = False) -> None:
	"""Send Queued messages once the current transaction commits (one job however many callers:
	deduplicated by job id; never queued for a transaction that rolls back).

	throttle: skip when this process enqueued the sender for this site less than
	MESSAGE_ENQUEUE_INTERVAL_S ago (that job, lingering, sends this message too); the payment
	path's receipts use it."""
	site = frappe.local.site
	if throttle:
		last = _message_job_enqueued_at.get(site)
		if last is not None and time.monotonic() - last < MESSAGE_ENQUEUE_INTERVAL_S:
			return
	frappe.enqueue(
		MESSAGE_JOB,
		queue=MESSAGE_JOB_QUEUE,
		timeout=MESSAGE_JOB_TIMEOUT_S,
		job_id="tuktuk_management:send_messages",
		deduplicate=True,
		enqueue_after_commit=True,
	)
	frappe.db.after_commit.add(lambda: _message_job_enqueued_at.__setitem__(site, time.monotonic()))


def frappe_sms_gateway():
	"""The gateway configured in the desk's SMS Settings (``sms_gateway_url``, message and receiver
	parameters, static and header parameters, Use POST), or None when no URL is set.

	Sent with the request shape of Frappe's ``send_request`` (see ledger.sms.HttpGateway), which
	this does not call: it has no timeout and returns only the status code, while the outbox
	records the provider's reply.
	"""
	from tuktuk_management.ledger.sms import HttpGateway

	settings = frappe.get_cached_doc("SMS Settings")
	if not settings.sms_gateway_url:
		return None
	parameters = {row.parameter: row.value for row in settings.get("parameters") if not row.header}
	headers = {row.parameter: row.value for row in settings.get("parameters") if row.header}
	return HttpGateway(
		url=settings.sms_gateway_url.strip(),
		message_parameter=settings.message_parameter,
		receiver_parameter=settings.receiver_parameter,
		parameters=parameters,
		headers=headers,
		use_post=bool(settings.use_post),
	)


def send_messages_job(linger_s: float = MESSAGE_JOB_LINGER_S) -> dict:
	"""Background job: send due Queued TukTuk Messages in batches (claim, call the gateway with no
	transaction open, record; each batch committed), at most MESSAGE_BATCHES_PER_JOB_MAX batches
	that send something; when none is due, look again every MESSAGE_JOB_POLL_S until ``linger_s``
	seconds passed since the start or the last message. Each batch first makes the payments'
	pending receipts into TukTuk Messages (ledger/receipts.py); without a gateway that is all it
	does (the messages wait Queued, as they did when the payment wrote them). Returns the counts."""
	from tuktuk_management.ledger import messages, receipts, sms

	settings = messages.load_message_settings(frappe.db)
	gateway = frappe_sms_gateway()
	if gateway is None:
		summary = sms.SendSummary(materialized=receipts.materialize_receipts(frappe.db, now=now_datetime()))
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the receipts made into messages are a unit of work
		return {"error": "SMS Settings has no gateway URL", **summary.as_dict()}
	total = sms.send_until_idle(
		frappe.db,
		gateway,
		commit=frappe.db.commit,  # the sender's claim and record are its own units of work
		settings=settings,
		clock=now_datetime,
		batches_max=MESSAGE_BATCHES_PER_JOB_MAX,
		linger_s=linger_s,
		poll_s=MESSAGE_JOB_POLL_S,
	)
	return total.as_dict()


def queue_due_messages() -> dict:
	"""Every five minutes (``hooks.scheduler_events``): queue the target reminders of the slot due
	now and the day-end summaries of the last closed business date (both idempotent on their keys),
	then enqueue the sender for anything Queued and due or any receipt pending."""
	from tuktuk_management.ledger import messages
	from tuktuk_management.ledger.close import drivers_due, due_business_date

	settings = load_settings(frappe.db)
	message_settings = messages.load_message_settings(frappe.db)
	if not message_settings.enabled:
		return {}
	now = now_datetime()
	reminders = messages.queue_target_reminders(
		frappe.db, settings=settings, messages=message_settings, now=now, user=SCHEDULER_USER
	)
	summaries = 0
	business_date = due_business_date(now, settings.daily_close_time)
	if message_settings.summaries and not drivers_due(frappe.db, business_date, limit=1):
		closed = frappe.db.count("TukTuk Daily Close", {"business_date": business_date, "judged": 1})
		queued = frappe.db.count(
			"TukTuk Message",
			{"kind": messages.MessageKind.SUMMARY, "idempotency_key": ("like", f"summary:%:{business_date}")},
		)
		if closed and queued < closed:
			summaries = messages.queue_day_summaries(
				frappe.db,
				business_date=business_date,
				settings=settings,
				messages=message_settings,
				now=now,
				user=SCHEDULER_USER,
			)
	# A payment's receipt waits on its transaction row until the sender makes its message.
	if frappe.db.exists("TukTuk Message", {"status": "Queued"}) or frappe.db.exists(
		"TukTuk Transaction", {"receipt_pending": 1}
	):
		enqueue_message_job()
	return {"reminders": reminders, "summaries": summaries}


# -- The books against M-Pesa (DESIGN §9) -----------------------------------------------------------


def run_statement_checks() -> dict:
	"""Hourly, each behind its TukTuk Settings switch: the paybill balance query (its result comes
	back to ``api.balance.result``; stored results left Failed are applied again here) and Pull
	Transactions matched like a statement (missed payments found alert the managers)."""
	from tuktuk_management.api.balance import apply_stored_balance_result, callback_url
	from tuktuk_management.ledger.mpesa_statement import balance, pull
	from tuktuk_management.ledger.mpesa_statement.config import load_statement_settings

	settings = load_statement_settings(frappe.db)
	done: dict = {}
	for log, endpoint, raw_body in balance.pending_result_logs(frappe.db):
		apply_stored_balance_result(log, raw_body, endpoint=endpoint, now=now_datetime())
	if not (settings.balance_check_enabled or settings.pull_transactions_enabled):
		return done
	client = daraja_client()
	if client is None or not settings.paybill:
		frappe.log_error(
			title="TukTuk M-Pesa checks skipped", message="Daraja credentials or paybill missing"
		)
		return done
	frappe.db.rollback()  # no transaction open across the HTTP calls
	if settings.balance_check_enabled:
		done["balance_check"] = balance.request_check(
			frappe.db,
			client,
			settings=settings,
			clock=now_datetime,
			commit=_commit_step,
			result_url=callback_url("result"),
			timeout_url=callback_url("timeout"),
		)
	if settings.pull_transactions_enabled:
		try:
			pulled = pull.pull_and_match(
				frappe.db, client, settings=settings, clock=now_datetime, commit=_commit_step
			)
		except Exception:
			frappe.db.rollback()
			frappe.log_error(title="TukTuk Pull Transactions failed", message=frappe.get_traceback())
			return done
		done["pull"] = {k: pulled[k] for k in ("statement_import", "pulled", "lines_new")}
		missed = pulled["summary"]["recoverable"]
		if missed["count"]:
			from tuktuk_management.alerts import notify_managers

			subject = _("Pull Transactions: {0} payment(s), {1} KES, not in the books").format(
				missed["count"], missed["amount_kes"]
			)
			notify_managers(
				subject,
				document_type="TukTuk Statement Import",
				document_name=pulled["statement_import"],
				email_content=subject,
			)
			_commit_step()
	return done


def _commit_step() -> None:
	# Unit-of-work boundary of the hourly checks: the check row before its query leaves, its
	# reply's ids, the pulled lines with their match (see ledger/mpesa_statement).
	frappe.db.commit()  # nosemgrep


# -- Watchdog of the scheduled work (docs/scheduling.md) ------------------------------------------


def watch_scheduled_work() -> dict:
	"""Every 15 minutes: keep the site's scheduler active (one Activity Log entry every 12 hours)
	and alert managers once when the daily close or the reconciliation is overdue
	(``tuktuk_management.health.watch``)."""
	from tuktuk_management.health import watch

	return watch()
