"""Daraja C2B callback endpoints (DESIGN §3, §7): thin guests over the ledger core.

Register with Safaricom (HTTPS in production; the URLs avoid the words Daraja forbids):

    POST /api/method/tuktuk_management.api.c2b.validation?token=<TukTuk Settings callback_token>
    POST /api/method/tuktuk_management.api.c2b.confirmation?token=<TukTuk Settings callback_token>

Every call is stored in a TukTuk Callback Log before anything else. A call without the right
token, or from outside the optional IP allowlist (the caller's address from the trusted end of
X-Forwarded-For), is answered 403 and kept as Rejected, in full up to a bound per source and
minute, counted beyond it (:mod:`tuktuk_management.api.callbacks`). A confirmation is stored and committed (raw first),
then applied by the core and always acknowledged with ``ResultCode`` 0: the money has already
moved (:func:`tuktuk_management.stored_callbacks.receive_confirmation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from werkzeug.wrappers import Response

import frappe
from frappe.utils import now_datetime

from tuktuk_management.api.callbacks import Call, accept_call, json_response, truncated
from tuktuk_management.daraja import models
from tuktuk_management.ledger import c2b
from tuktuk_management.ledger.callback_log import (
	C2B_CONFIRMATION,
	C2B_VALIDATION,
	apply_logged,
	mark_callback,
	receive_logged,
)
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.status import LogStatus
from tuktuk_management.stored_callbacks import log_callback_error, receive_confirmation

VALIDATION_FAILED_TITLE = "TukTuk C2B validation failed"
FORBIDDEN_REPLY = {
	C2B_CONFIRMATION: {"ResultCode": 1, "ResultDesc": "Forbidden"},
	C2B_VALIDATION: models.validation_reply(models.OTHER_ERROR),
}


@frappe.whitelist(allow_guest=True, methods=["POST"])
def validation(token: str | None = None) -> Response:
	"""Daraja C2B validation URL: accept (``"0"``) or reject (``C2B000xx``) a payment before it moves.

	token: the ``token`` query parameter of the registered URL. Returns 200 with
	``{"ResultCode", "ResultDesc"}`` at the top level, or 403 for a refused caller.
	"""
	return respond_validation(token)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def confirmation(token: str | None = None) -> Response:
	"""Daraja C2B confirmation URL: store, apply and acknowledge a completed payment.

	token: the ``token`` query parameter of the registered URL. Returns 200 with
	``{"ResultCode": 0, "ResultDesc": "Success"}`` whatever the outcome (Invalid, Duplicate,
	Conflict and failures are stored on the callback log), or 403 for a refused caller.
	"""
	return respond_confirmation(token)


def respond_validation(token: str | None, *, legacy_url: str = "") -> Response:
	"""The validation endpoint's whole work; ``legacy_url`` for the original app's alias URLs
	(no token; see :func:`tuktuk_management.api.callbacks.accept_call`)."""
	call = accept_call(C2B_VALIDATION, token, FORBIDDEN_REPLY[C2B_VALIDATION], legacy_url=legacy_url)
	if call.refused:
		return call.refused
	return json_response(_decide_validation(call, legacy_url))


def respond_confirmation(token: str | None, *, legacy_url: str = "") -> Response:
	"""The confirmation endpoint's whole work; ``legacy_url`` as for :func:`respond_validation`."""
	call = accept_call(C2B_CONFIRMATION, token, FORBIDDEN_REPLY[C2B_CONFIRMATION], legacy_url=legacy_url)
	if call.refused:
		return call.refused
	# The request's end commits the payment (Frappe commits every POST): no commit of our own.
	result = receive_confirmation(
		call.raw_body,
		source_ip=call.source_ip,
		settings=call.settings,
		commit=False,
		legacy_url=legacy_url or None,
		remote_addr=call.remote_addr,
		forwarded_for=call.forwarded_for,
	)
	return json_response(result.reply)


@dataclass(frozen=True)
class _Decision:
	"""A validation call's outcome: the log status (Processed or Rejected) and Daraja's code."""

	status: str
	code: str


def _decide_validation(call: Call, legacy_url: str = "") -> dict:
	"""Store the validation call (committed), decide with the core, mark the log; the reply body."""
	raw_body, settings = call.raw_body, call.settings
	now = now_datetime()
	logged = receive_logged(
		frappe.db,
		endpoint=C2B_VALIDATION,
		raw_body=truncated(raw_body),
		received_at=now,
		source_ip=call.source_ip,
		remote_addr=call.remote_addr,
		forwarded_for=call.forwarded_for,
		apply=lambda log: apply_logged(
			frappe.db,
			log,
			lambda: _decide(log, raw_body, settings, now),
			now=now,
			on_failed=lambda log, exc: log_callback_error(log, exc, title=VALIDATION_FAILED_TITLE),
		),
		legacy_url=legacy_url or None,
	)
	# A failed decision: we cannot vouch for the payment, so reject it (the money does not move).
	return models.validation_reply(logged.outcome.code if logged.outcome else models.OTHER_ERROR)


def _decide(log: str, raw_body: bytes, settings: LedgerSettings, now: datetime) -> _Decision:
	code, reason = c2b.decide_validation(frappe.db, raw_body, settings)
	status = LogStatus.PROCESSED if code == models.ACCEPT else LogStatus.REJECTED
	mark_callback(frappe.db, log, status=status, now=now, error=reason)
	return _Decision(status, code)
