"""What the Daraja callback endpoints share: the caller checks, the refusal, the JSON reply.

Every endpoint (``api.c2b.validation``/``confirmation``, ``api.b2c.result``/``timeout``) starts
with :func:`accept_call`: it reads the request, compares the ``token`` query parameter with TukTuk
Settings' ``callback_token`` in constant time and checks the optional IP allowlist. A refused
call is stored as Rejected (truncated, committed) and answered 403 with the endpoint's refusal
body; nothing else happens. Replies carry ``ResultCode`` at the top level of the JSON body (a
werkzeug Response, not Frappe's ``{"message": ...}``).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass

from werkzeug.wrappers import Response

import frappe
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password

from tuktuk_management.daraja import models
from tuktuk_management.ledger.callback_log import store_callback
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, LedgerSettings, ip_allowed, load_settings
from tuktuk_management.ledger.status import LogStatus
from tuktuk_management.legacy import callbacks as legacy_callbacks

HTTP_OK = 200
HTTP_FORBIDDEN = 403


@dataclass(frozen=True)
class Call:
	"""One callback request: its body, the caller's IP, the settings, and the 403 reply if the
	caller was refused (then the call is already stored as Rejected)."""

	raw_body: bytes
	source_ip: str
	settings: LedgerSettings
	refused: Response | None = None


def accept_call(endpoint: str, token: str | None, forbidden_reply: dict, *, legacy_url: str = "") -> Call:
	"""Read the request and check its caller; a refused call is stored Rejected and committed.

	endpoint: the TukTuk Callback Log endpoint. token: the whitelisted method's ``token``
	argument. forbidden_reply: the body of the 403 reply. legacy_url: set for a call at one of
	the original app's URLs, which carry no token: allowed only while TukTuk Settings accepts
	legacy callback URLs, then checked against the IP allowlist, and recorded on its log.
	"""
	raw_body = frappe.request.get_data(cache=True)
	source_ip = frappe.local.request_ip or ""
	settings = load_settings(frappe.db)
	if legacy_url:
		refusal = legacy_refusal(source_ip, settings)
	else:
		refusal = refusal_of(supplied_token(token), source_ip, settings)
	if not refusal:
		return Call(raw_body, source_ip, settings)
	store_callback(
		frappe.db,
		endpoint=endpoint,
		raw_body=truncated(raw_body),
		received_at=now_datetime(),
		source_ip=source_ip,
		status=LogStatus.REJECTED,
		error=refusal,
		legacy_url=legacy_url or None,
	)
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the refused call is on record; nothing else happens
	return Call(raw_body, source_ip, settings, json_response(forbidden_reply, HTTP_FORBIDDEN))


def supplied_token(token: str | None) -> str:
	"""The ``token`` query parameter. Frappe drops query parameters from its form dict when the
	body is JSON (as Daraja's is), so read the URL first; ``token`` is the form-dict fallback."""
	return frappe.request.args.get("token") or token or ""


def refusal_of(supplied: str, source_ip: str, settings: LedgerSettings) -> str:
	"""Why the caller is refused ("" if allowed): token compared in constant time, then the IP."""
	expected = get_decrypted_password(
		SETTINGS_DOCTYPE, SETTINGS_DOCTYPE, "callback_token", raise_exception=False
	)
	if not expected:
		return "no callback token is configured in TukTuk Settings"
	if not hmac.compare_digest(supplied.encode("utf-8"), expected.encode("utf-8")):
		return "missing or wrong token"
	return ip_refusal(source_ip, settings)


def legacy_refusal(source_ip: str, settings: LedgerSettings) -> str:
	"""Why a call at one of the original app's URLs is refused ("" if allowed): the switch, then the IP."""
	if not legacy_callbacks.legacy_urls_accepted(frappe.db):
		return legacy_callbacks.TURNED_OFF
	return ip_refusal(source_ip, settings)


def ip_refusal(source_ip: str, settings: LedgerSettings) -> str:
	"""Why the caller's address is refused ("" if allowed by the optional allowlist)."""
	try:
		allowed = ip_allowed(source_ip, settings.allowed_callback_ips)
	except ValueError:
		return "Allowed Callback IPs in TukTuk Settings cannot be parsed"
	if not allowed:
		return "source IP is not in Allowed Callback IPs"
	return ""


def truncated(raw_body: bytes | str) -> bytes | str:
	"""At most CALLBACK_BODY_BYTES_MAX bytes of a body, for storing calls that may be hostile."""
	if isinstance(raw_body, str):
		raw_body = raw_body.encode("utf-8")
	return raw_body[: models.CALLBACK_BODY_BYTES_MAX]


def json_response(body: dict, status: int = HTTP_OK) -> Response:
	"""``body`` as the whole JSON reply (``ResultCode`` at the top level)."""
	return Response(json.dumps(body), status=status, content_type="application/json")
