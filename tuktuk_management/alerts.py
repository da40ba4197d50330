"""Alerts to managers: email through Frappe's mail queue plus a desk Notification Log.

No phone numbers or names: driver IDs (Sunny IDs) and amounts only.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import get_url_to_form

from tuktuk_management import roles
from tuktuk_management.ledger.reconcile import RUN_DOCTYPE, RunResult
from tuktuk_management.ledger.settings import load_settings, parse_recipients

EMAIL_ROWS_MAX = 50
FIELD_LABELS = {
	"current_balance": "Collected toward target",
	"current_deposit_balance": "Deposit",
	"payout_pending": "Payout pending",
}


def manager_users() -> list[str]:
	"""Enabled users with the TukTuk Manager role (Administrator if there is none)."""
	users = frappe.get_all(
		"Has Role", filters={"role": roles.MANAGER, "parenttype": "User"}, pluck="parent", distinct=True
	)
	enabled = [u for u in users if u != "Guest" and frappe.db.get_value("User", u, "enabled")]
	return sorted(enabled) or ["Administrator"]


def notify_managers(subject: str, *, document_type: str, document_name: str, email_content: str) -> None:
	"""One desk Notification Log (type Alert) per manager."""
	for user in manager_users():
		frappe.get_doc(
			{
				"doctype": "Notification Log",
				"subject": subject,
				"for_user": user,
				"type": "Alert",
				"document_type": document_type,
				"document_name": document_name,
				"email_content": email_content,
			}
		).insert(ignore_permissions=True)


EMAIL_FAILED_TITLE = "TukTuk alert email failed"


def recipients() -> list[str]:
	return parse_recipients(load_settings(frappe.db).reconciliation_recipients)


def queue_email(**kwargs) -> bool:
	"""``frappe.sendmail`` into the Email Queue; a site without an outgoing Email Account gets an
	Error Log instead of a failed run (the desk notification is still written)."""
	try:
		frappe.sendmail(**kwargs)
	except frappe.OutgoingEmailError:
		frappe.log_error(title=EMAIL_FAILED_TITLE, message=frappe.get_traceback())
		return False
	return True


def send_drift_alert(result: RunResult, external: dict | None = None) -> None:
	"""Email (template ``tuktuk_drift_alert``) to ``reconciliation_recipients`` and a desk
	notification to managers, for a run that found drift or an invariant breach, or (nightly)
	differences against the M-Pesa statement (``external``: ``api.statement.nightly_figures``)."""
	rows = result.report.discrepancies
	fixed = {(d["driver"], d["field"]) for d in result.fixed}
	args = {
		"status": result.status,
		"run": result.run,
		"run_url": get_url_to_form(RUN_DOCTYPE, result.run),
		"triggered_by": frappe.db.get_value(RUN_DOCTYPE, result.run, "triggered_by"),
		"started_at": frappe.db.get_value(RUN_DOCTYPE, result.run, "started_at"),
		"drivers_checked": result.report.drivers_checked,
		"drivers_with_discrepancies": result.drivers_with_discrepancies,
		"total_discrepancy_kes": result.total_discrepancy_kes,
		"invariant_breaches": result.report.invariant_breaches,
		"discrepancies": [
			{
				**d,
				"field_label": FIELD_LABELS.get(d["field"], d["field"]),
				"fixed": (d["driver"], d["field"]) in fixed,
			}
			for d in rows[:EMAIL_ROWS_MAX]
		],
		"more": max(0, len(rows) - EMAIL_ROWS_MAX),
		"external": external,
	}
	subject = _("TukTuk reconciliation: {0} ({1} drivers, {2} KES, {3} invariant breaches)").format(
		_(result.status),
		args["drivers_with_discrepancies"],
		args["total_discrepancy_kes"],
		args["invariant_breaches"],
	)
	if external and external["differences"]:
		subject += _("; M-Pesa statement: {0} differences").format(external["differences"])
	to = recipients()
	if to:
		queue_email(
			recipients=to,
			subject=subject,
			template="tuktuk_drift_alert",
			args=args,
			reference_doctype=RUN_DOCTYPE,
			reference_name=result.run,
		)
	notify_managers(subject, document_type=RUN_DOCTYPE, document_name=result.run, email_content=subject)


def send_miss_limit_alert(business_date: str, drivers: list[dict]) -> None:
	"""Email (template ``tuktuk_miss_limit_alert``) and desk notification listing the drivers at or
	over the miss limit after the close of ``business_date``."""
	if not drivers:
		return
	settings = load_settings(frappe.db)
	subject = _("TukTuk daily close {0}: {1} driver(s) at the miss limit").format(business_date, len(drivers))
	args = {
		"business_date": business_date,
		"drivers": drivers[:EMAIL_ROWS_MAX],
		"miss_limit": settings.miss_limit,
	}
	to = recipients()
	if to:
		queue_email(
			recipients=to,
			subject=subject,
			template="tuktuk_miss_limit_alert",
			args=args,
			reference_doctype="TukTuk Daily Close",
			reference_name=f"{drivers[0]['driver']}-{business_date}",
		)
	notify_managers(
		subject,
		document_type="TukTuk Daily Close",
		document_name=f"{drivers[0]['driver']}-{business_date}",
		email_content=", ".join(d["driver"] for d in drivers[:EMAIL_ROWS_MAX]),
	)
