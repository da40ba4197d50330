"""Scheduler entry points (``hooks.scheduler_events``): bounded batches, one unit of work each."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import get_url, now_datetime

from tuktuk_management import roles
from tuktuk_management.api.b2c import apply_stored_result
from tuktuk_management.api.c2b import apply_stored_confirmation
from tuktuk_management.api.payouts import daraja_client
from tuktuk_management.ledger import payouts
from tuktuk_management.ledger.callback_log import pending_confirmations
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, load_settings

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
	recipients = [
		line.strip()
		for line in (
			frappe.db.get_single_value(SETTINGS_DOCTYPE, "payout_alert_recipients") or ""
		).splitlines()
		if line.strip()
	]
	if recipients:
		frappe.sendmail(
			recipients=recipients,
			subject=subject,
			template="tuktuk_stuck_payouts",
			args={"payouts": stuck, "site_url": get_url(), "count": len(stuck)},
			reference_doctype="TukTuk Payout",
			reference_name=stuck[0]["name"],
		)
	for user in _enabled_users_with_role(roles.MANAGER):
		frappe.get_doc(
			{
				"doctype": "Notification Log",
				"for_user": user,
				"type": "Alert",
				"subject": subject,
				"email_content": ", ".join(row["name"] for row in stuck[:20]),
				"document_type": "TukTuk Payout",
				"document_name": stuck[0]["name"],
			}
		).insert(ignore_permissions=True)
	return [row["name"] for row in stuck]


def _enabled_users_with_role(role: str) -> list[str]:
	users = frappe.get_all(
		"Has Role", filters={"role": role, "parenttype": "User"}, pluck="parent", limit=100
	)
	return [user for user in users if frappe.db.get_value("User", user, "enabled")]
