"""What the Daraja callback endpoints share: the caller checks, the refusal, the JSON reply.

Every endpoint (``api.c2b.validation``/``confirmation``, ``api.b2c.result``/``timeout``) starts
with :func:`accept_call`: it reads the request, takes the caller's address from the trusted end of
the proxy chain (TukTuk Settings ``trusted_proxy_count``; ``frappe.local.request_ip`` is the FIRST
``X-Forwarded-For`` entry, which the client chooses, and is not used), compares the ``token``
query parameter with ``callback_token`` in constant time and checks the optional IP allowlist
against that address (the rules: :mod:`tuktuk_management.ledger.callback_guard`). A refused call
is answered 403 with the endpoint's refusal body and nothing else happens; it is counted per
source address and minute and stored in full (truncated, Rejected) only up to
``refused_calls_stored_per_minute``, and the call that crosses that bound alerts the managers.
Replies carry ``ResultCode`` at the top level of the JSON body (a werkzeug Response, not
Frappe's ``{"message": ...}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from werkzeug.wrappers import Response

import frappe
from frappe import _
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password

from tuktuk_management import alerts
from tuktuk_management.daraja import models
from tuktuk_management.ledger.callback_guard import (
	SUMMARY_DOCTYPE,
	RefusalRecord,
	check_caller,
	client_address,
	record_refusal,
)
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, LedgerSettings, ip_allowed, load_settings
from tuktuk_management.legacy import callbacks as legacy_callbacks

HTTP_OK = 200
HTTP_FORBIDDEN = 403
ALERT_FAILED_TITLE = "TukTuk refused-call alert failed"


@dataclass(frozen=True)
class Call:
	"""One callback request: its body, the caller, the settings, and the 403 reply if the caller
	was refused (then the call is already counted, and stored while under the bound).

	source_ip: the caller's address as checked against the allowlist ("" = unknown: the header
	had fewer entries than the trusted proxies); remote_addr: the connection's address;
	forwarded_for: the raw ``X-Forwarded-For`` header ("" if absent). All three go on the log.
	"""

	raw_body: bytes
	source_ip: str
	settings: LedgerSettings
	refused: Response | None = None
	remote_addr: str = ""
	forwarded_for: str = ""


def accept_call(endpoint: str, token: str | None, forbidden_reply: dict, *, legacy_url: str = "") -> Call:
	"""Read the request and check its caller; a refused call is kept (bounded) and committed.

	endpoint: the TukTuk Callback Log endpoint. token: the whitelisted method's ``token``
	argument. forbidden_reply: the body of the 403 reply. legacy_url: set for a call at one of
	the original app's URLs, which carry no token: allowed only while TukTuk Settings accepts
	legacy callback URLs, then checked against the IP allowlist, and recorded on its log.
	"""
	raw_body = frappe.request.get_data(cache=True)
	settings = load_settings(frappe.db)
	remote_addr = (frappe.request.environ.get("REMOTE_ADDR") or "").strip()
	forwarded_for = frappe.request.headers.get("X-Forwarded-For") or ""
	address = client_address(remote_addr, forwarded_for, settings.trusted_proxy_count)
	if legacy_url:
		refusal = legacy_refusal(address, settings)
	else:
		refusal = refusal_of(supplied_token(token), address, settings)
	call = Call(raw_body, address, settings, None, remote_addr, forwarded_for)
	if not refusal:
		return call
	keep_refusal(endpoint, call, refusal, legacy_url=legacy_url)
	return Call(
		raw_body,
		address,
		settings,
		json_response(forbidden_reply, HTTP_FORBIDDEN),
		remote_addr,
		forwarded_for,
	)


def supplied_token(token: str | None) -> str:
	"""The ``token`` query parameter. Frappe drops query parameters from its form dict when the
	body is JSON (as Daraja's is), so read the URL first; ``token`` is the form-dict fallback."""
	return frappe.request.args.get("token") or token or ""


def refusal_of(supplied: str, address: str, settings: LedgerSettings) -> str:
	"""Why the caller is refused ("" if allowed): token compared in constant time, then the
	caller's address (from :func:`client_address`) against the allowlist."""
	expected = get_decrypted_password(
		SETTINGS_DOCTYPE, SETTINGS_DOCTYPE, "callback_token", raise_exception=False
	)
	return check_caller(supplied, expected, address, settings.allowed_callback_ips)


def legacy_refusal(address: str, settings: LedgerSettings) -> str:
	"""Why a call at one of the original app's URLs is refused ("" if allowed): the switch, then
	the caller's address (from :func:`client_address`)."""
	if not legacy_callbacks.legacy_urls_accepted(frappe.db):
		return legacy_callbacks.TURNED_OFF
	return ip_refusal(address, settings)


def ip_refusal(address: str, settings: LedgerSettings) -> str:
	"""Why the caller's address is refused ("" if allowed by the optional allowlist)."""
	try:
		allowed = ip_allowed(address, settings.allowed_callback_ips)
	except ValueError:
		return "Allowed Callback IPs in TukTuk Settings cannot be parsed"
	if not allowed:
		return "source IP is not in Allowed Callback IPs"
	return ""


def keep_refusal(endpoint: str, call: Call, reason: str, *, legacy_url: str = "") -> RefusalRecord:
	"""Count (and, under the bound, store) a refused call and commit; alert managers if due.
	legacy_url: the original app's URL the call came to, recorded on its log."""
	record = record_refusal(
		frappe.db,
		endpoint=endpoint,
		address=call.source_ip,
		remote_addr=call.remote_addr,
		forwarded_for=call.forwarded_for,
		raw_body=truncated(call.raw_body),
		error=reason,
		now=now_datetime(),
		stored_per_minute_max=call.settings.refused_calls_stored_per_minute,
		legacy_url=legacy_url or None,
	)
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the refused call is counted (and stored); nothing else happens
	if record.alert:
		try:
			send_refused_calls_alert(record, call.settings)
			frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the alert's notifications and queued email
		except Exception:
			frappe.db.rollback()
			frappe.log_error(title=ALERT_FAILED_TITLE, message=frappe.get_traceback())
			frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the Error Log of a failed alert
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


def truncated(raw_body: bytes | str) -> bytes | str:
	"""At most CALLBACK_BODY_BYTES_MAX bytes of a body, for storing calls that may be hostile."""
	if isinstance(raw_body, str):
		raw_body = raw_body.encode("utf-8")
	return raw_body[: models.CALLBACK_BODY_BYTES_MAX]


def json_response(body: dict, status: int = HTTP_OK) -> Response:
	"""``body`` as the whole JSON reply (``ResultCode`` at the top level)."""
	return Response(json.dumps(body), status=status, content_type="application/json")
