"""The callback endpoints' gate under Frappe: who is calling, may they, and what a refusal keeps.

The rules are framework-free in :mod:`tuktuk_management.ledger.callback_guard`; this module reads
them their inputs from the request (``REMOTE_ADDR``, the raw ``X-Forwarded-For`` header, the
``callback_token`` Password field) and alerts the managers when a source's refused calls cross
the per-minute bound. ``frappe.local.request_ip`` is not used: it is the FIRST
``X-Forwarded-For`` entry, which the client chooses.
"""

from __future__ import annotations

from dataclasses import dataclass

import frappe
from frappe import _
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password

from tuktuk_management import alerts
from tuktuk_management.ledger.callback_guard import (
	SUMMARY_DOCTYPE,
	RefusalRecord,
	check_caller,
	client_address,
	record_refusal,
)
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, LedgerSettings

ALERT_FAILED_TITLE = "TukTuk refused-call alert failed"


@dataclass(frozen=True)
class Caller:
	"""The caller of one request: ``address`` as used for the allowlist ("" = unknown), the
	connection's ``remote_addr`` and the raw ``forwarded_for`` header ("" if absent)."""

	address: str
	remote_addr: str
	forwarded_for: str


def current_caller(settings: LedgerSettings) -> Caller:
	"""The caller of the current request, the address taken per ``trusted_proxy_count``."""
	remote_addr = (frappe.request.environ.get("REMOTE_ADDR") or "").strip()
	forwarded_for = frappe.request.headers.get("X-Forwarded-For") or ""
	address = client_address(remote_addr, forwarded_for, settings.trusted_proxy_count)
	return Caller(address, remote_addr, forwarded_for)


def refusal_reason(supplied_token: str, caller: Caller, settings: LedgerSettings) -> str:
	"""Why this caller is refused ("" if let in): the token, then the allowlist."""
	expected = get_decrypted_password(
		SETTINGS_DOCTYPE, SETTINGS_DOCTYPE, "callback_token", raise_exception=False
	)
	return check_caller(supplied_token, expected, caller.address, settings.allowed_callback_ips)


def keep_refusal(
	endpoint: str, raw_body: bytes | str, caller: Caller, reason: str, settings: LedgerSettings
) -> RefusalRecord:
	"""Count (and, under the bound, store) a refused call and commit; alert managers if due."""
	record = record_refusal(
		frappe.db,
		endpoint=endpoint,
		address=caller.address,
		remote_addr=caller.remote_addr,
		forwarded_for=caller.forwarded_for,
		raw_body=raw_body,
		error=reason,
		now=now_datetime(),
		stored_per_minute_max=settings.refused_calls_stored_per_minute,
	)
	frappe.db.commit()  # the refused call is counted (and stored); nothing else happens
	if record.alert:
		try:
			send_refused_calls_alert(record, settings)
			frappe.db.commit()  # the notifications and the queued email
		except Exception:
			frappe.db.rollback()
			frappe.log_error(title=ALERT_FAILED_TITLE, message=frappe.get_traceback())
			frappe.db.commit()  # the Error Log
	return record


def send_refused_calls_alert(record: RefusalRecord, settings: LedgerSettings) -> None:
	"""A desk notification to every manager and an email to their addresses (when mail is set
	up): the source crossed the bound of refused calls stored per minute."""
	subject = _(
		"TukTuk callbacks: more than {0} refused calls in a minute from {1}; further ones are only counted"
	).format(settings.refused_calls_stored_per_minute, record.source)
	content = _(
		"Refused callback calls from {0} crossed {1} in the minute {2} (TukTuk Refused Call Summary {3}). "
		"Calls beyond the bound are counted, not stored one by one; you are alerted at most once an hour "
		"per source. Check Allowed Callback IPs and Trusted Proxies in Front in TukTuk Settings."
	).format(record.source, settings.refused_calls_stored_per_minute, record.summary[:13], record.summary)
	alerts.notify_managers(
		subject, document_type=SUMMARY_DOCTYPE, document_name=record.summary, email_content=content
	)
	emails = [
		email
		for email in (frappe.db.get_value("User", user, "email") for user in alerts.manager_users())
		if email
	]
	if emails:
		alerts.queue_email(
			recipients=emails,
			subject=subject,
			message=content,
			reference_doctype=SUMMARY_DOCTYPE,
			reference_name=record.summary,
		)
