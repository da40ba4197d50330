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


def payout_recipients() -> list[str]:
	return parse_recipients(frappe.db.get_single_value("TukTuk Settings", "payout_alert_recipients") or "")


def outgoing_email_account() -> str:
	"""The default outgoing Email Account's name (or the site config's ``mail_server``), or ""
	when alerts cannot be emailed."""
	account = frappe.db.get_value("Email Account", {"enable_outgoing": 1, "default_outgoing": 1}, "name")
	if account:
		return account
	return (
		f"site config mail_server ({frappe.local.conf.mail_server})" if frappe.local.conf.mail_server else ""
	)


def queue_email(**kwargs) -> bool:
	"""``frappe.sendmail`` into the Email Queue; a site without an outgoing Email Account gets an
	Error Log instead of a failed run (the desk notification is still written)."""
	try:
		frappe.sendmail(**kwargs)
	except frappe.OutgoingEmailError:
		frappe.log_error(title=EMAIL_FAILED_TITLE, message=frappe.get_traceback())
		return False
	return True


def send_alert(
	subject: str,
	*,
	to: list[str],
	template: str,
	args: dict,
	document_type: str,
	document_name: str,
	email_content: str,
) -> str:
	"""An alert through every channel that works: the desk Notification Log of every manager,
	always; email to ``to`` when there are recipients and an outgoing Email Account. When the
	email cannot go, the desk notification says why. Returns "" if emailed, else the reason."""
	if not to:
		not_emailed = _("no alert recipients are set in TukTuk Settings")
	elif not outgoing_email_account():
		not_emailed = _("no outgoing Email Account is set up (Settings > Email Account)")
	elif not queue_email(
		recipients=to,
		subject=subject,
		template=template,
		args=args,
		reference_doctype=document_type,
		reference_name=document_name,
	):
		not_emailed = _("sending failed, see the Error Log")
	else:
		not_emailed = ""
	if not_emailed:
		email_content = f"{email_content}\n\n" + _("Not emailed: {0}.").format(not_emailed)
	notify_managers(
		subject, document_type=document_type, document_name=document_name, email_content=email_content
	)
	return not_emailed


OVERDUE_TITLES = {"daily_close": "Daily close overdue", "reconciliation": "Reconciliation overdue"}


def send_overdue_alert(check: str, message: str, report: dict) -> str:
	"""Alert that the daily close or the reconciliation is overdue (``check``: ``daily_close`` or
	``reconciliation``), with the whole health ``report``. Returns "" if emailed, else why not."""
	title = _(OVERDUE_TITLES[check])
	return send_alert(
		_("TukTuk: {0}").format(title),
		to=recipients(),
		template="tuktuk_overdue_alert",
		args={
			"title": title,
			"message": message,
			"site": report["site"],
			"checked_at": report["checked_at"],
			"checks": report["checks"],
		},
		document_type="TukTuk Settings",
		document_name="TukTuk Settings",
		email_content=message,
	)


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
	send_alert(
		subject,
		to=recipients(),
		template="tuktuk_drift_alert",
		args=args,
		document_type=RUN_DOCTYPE,
		document_name=result.run,
		email_content=subject,
	)


def send_miss_limit_alert(business_date: str, drivers: list[dict]) -> None:
	"""Email (template ``tuktuk_miss_limit_alert``) and desk notification listing the drivers at or
	over the miss limit after the close of ``business_date``."""
	if not drivers:
		return
	settings = load_settings(frappe.db)
	subject = _("TukTuk daily close {0}: {1} driver(s) at the miss limit").format(business_date, len(drivers))
	# Each driver links to their form, where the Terminate action is (termination stays a
	# manager's decision); the desk notification opens the first driver's form.
	rows = [{**d, "url": get_url_to_form("TukTuk Driver", d["driver"])} for d in drivers[:EMAIL_ROWS_MAX]]
	args = {"business_date": business_date, "drivers": rows, "miss_limit": settings.miss_limit}
	send_alert(
		subject,
		to=recipients(),
		template="tuktuk_miss_limit_alert",
		args=args,
		document_type="TukTuk Driver",
		document_name=drivers[0]["driver"],
		email_content=", ".join(d["driver"] for d in drivers[:EMAIL_ROWS_MAX])
		+ "\n\n"
		+ _("Open a driver's form and use Terminate to preview and settle their leaving."),
	)


def send_new_driver_alert(driver: str, driver_name: str) -> str:
	"""Tell managers a driver was added: a desk notification each and an email (template
	``tuktuk_new_driver``) to the enabled TukTuk Managers. Only the Sunny ID and the name: no phone
	or ID numbers. Returns "" if emailed, else why not."""
	subject = _("New driver {0}: {1}").format(driver, driver_name)
	return send_alert(
		subject,
		to=[user for user in manager_users() if user != "Administrator"],
		template="tuktuk_new_driver",
		args={
			"driver": driver,
			"driver_name": driver_name,
			"added_by": frappe.session.user,
			"url": get_url_to_form("TukTuk Driver", driver),
		},
		document_type="TukTuk Driver",
		document_name=driver,
		email_content=_("{0} ({1}) was added by {2}.").format(driver_name, driver, frappe.session.user),
	)
