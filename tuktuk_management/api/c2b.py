"""Daraja C2B callback endpoints (DESIGN §3, §7): thin guests over the ledger core.

Register with Safaricom (HTTPS in production; the URLs avoid the words Daraja forbids):

    POST /api/method/tuktuk_management.api.c2b.validation?token=<TukTuk Settings callback_token>
    POST /api/method/tuktuk_management.api.c2b.confirmation?token=<TukTuk Settings callback_token>

Every call is stored in a TukTuk Callback Log before anything else. A call without the right
token, or from outside the optional IP allowlist, is stored as Rejected and answered 403. A
confirmation is stored and committed (raw first), then applied by the core and always
acknowledged with ``ResultCode`` 0: the money has already moved. Replies carry ``ResultCode``
at the top level of the JSON body (a werkzeug Response, not Frappe's ``{"message": ...}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import frappe
from frappe.utils import now_datetime
from werkzeug.wrappers import Response

from tuktuk_management.api.payouts import enqueue_send
from tuktuk_management.daraja import models
from tuktuk_management.ledger import c2b
from tuktuk_management.ledger.callback_log import (
	C2B_CONFIRMATION,
	C2B_VALIDATION,
	FAILED,
	RECEIVED,
	REJECTED,
	mark_callback,
	mark_failed,
	process_logged_confirmation,
	store_callback,
)
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.settings import LedgerSettings, ip_allowed, load_settings
from tuktuk_management.settings_cache import (
	cached_settings,
	callback_token_configured,
	callback_token_matches,
)

LOG_DOCTYPE = "TukTuk Callback Log"
PROCESSING_FAILED_TITLE = "TukTuk C2B processing failed"
CONFLICT_TITLE = "TukTuk C2B TransID conflict"
VALIDATION_FAILED_TITLE = "TukTuk C2B validation failed"
HTTP_OK = 200
HTTP_FORBIDDEN = 403
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
	return _callback_response(C2B_VALIDATION, token)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def confirmation(token: str | None = None) -> Response:
	"""Daraja C2B confirmation URL: store, apply and acknowledge a completed payment.

	token: the ``token`` query parameter of the registered URL. Returns 200 with
	``{"ResultCode": 0, "ResultDesc": "Success"}`` whatever the outcome (Invalid, Duplicate,
	Conflict and failures are stored on the callback log), or 403 for a refused caller.
	"""
	return _callback_response(C2B_CONFIRMATION, token)


@dataclass(frozen=True)
class ConfirmationResult:
	"""What became of one confirmation: the callback log, its status, the reply for Daraja."""

	callback_log: str
	status: str
	transaction: str | None
	reply: dict


def receive_confirmation(
	raw_body: bytes | str, *, source_ip: str, settings: LedgerSettings | None = None, commit: bool = True
) -> ConfirmationResult:
	"""Store a confirmation body (committed), apply it and mark its log; the webhook after its checks.

	Not whitelisted: the endpoint calls it after the token and IP checks, the console alias
	``tuktuk_management.api.tuktuk.mpesa_confirmation`` calls it directly. Commits the stored
	body, and the payment too unless ``commit`` is False (see :func:`apply_stored_confirmation`).
	"""
	settings = settings or load_settings(frappe.db)
	now = now_datetime()
	log = store_callback(
		frappe.db, endpoint=C2B_CONFIRMATION, raw_body=raw_body, received_at=now, source_ip=source_ip
	)
	# Raw first: the body is committed in its own write before any processing, so it survives
	# whatever happens next (the scheduled job applies it if processing fails or is paused).
	frappe.db.commit()  # unit-of-work boundary: the raw body is stored before any processing
	status, transaction = apply_stored_confirmation(log, raw_body, settings=settings, now=now, commit=commit)
	return ConfirmationResult(log, status, transaction, models.confirmation_ack())


def apply_stored_confirmation(
	log: str, raw_body: bytes | str, *, settings: LedgerSettings, now: datetime, commit: bool = True
) -> tuple[str, str | None]:
	"""Apply one stored confirmation in its own unit of work and commit; ``(log status, transaction)``.

	The core locks the log row first and skips it unless still Received or Failed, so the webhook
	and the scheduled job never apply (and re-mark) the same log twice. Deadlocks are retried by
	``run_with_retry``; any other error rolls back, marks the log Failed and goes to the Error Log.
	commit=False leaves the applied payment to the caller's commit: the webhook passes it, since
	Frappe commits every POST request at its end (``frappe.app.after_request``) and a commit here
	would be one more COMMIT + START TRANSACTION per callback. If the request fails after this,
	Frappe rolls the payment back and the stored body stays Received for the scheduled job.
	"""
	try:
		outcome = run_with_retry(
			lambda: process_logged_confirmation(frappe.db, log, raw_body, settings=settings, now=now),
			rollback=frappe.db.rollback,
		)
	except Exception as exc:
		_record_failure(log, exc, title=PROCESSING_FAILED_TITLE, now=now)
		frappe.db.commit()  # unit-of-work boundary: the Failed mark is kept for the retry job
		return FAILED, None
	if outcome.already_handled:
		frappe.db.rollback()
		return outcome.status, outcome.transaction
	if outcome.payout:
		# Sent by a background job once this transaction commits: never inside this request, never
		# while the driver's row lock is held, never for a payment that rolled back.
		enqueue_send(outcome.payout)
	if outcome.status == c2b.CONFLICT:
		frappe.log_error(
			title=CONFLICT_TITLE,
			message=f"TransID {outcome.trans_id} (callback log {log}): {outcome.reason}",
			reference_doctype=LOG_DOCTYPE,
			reference_name=log,
		)
	if commit:
		# End of the unit of work (payment + log mark): the job commits each log on its own.
		frappe.db.commit()  # unit-of-work boundary: the payment and its log mark
	return outcome.status, outcome.transaction


def _callback_response(endpoint: str, token: str | None) -> Response:
	"""Store, check the caller, process and reply: the whole of both endpoints."""
	raw_body = frappe.request.get_data(cache=True)
	source_ip = frappe.local.request_ip or ""
	settings = cached_settings()
	refusal = _refusal(_supplied_token(token), source_ip, settings)
	if refusal:
		store_callback(
			frappe.db,
			endpoint=endpoint,
			raw_body=_truncated(raw_body),
			received_at=now_datetime(),
			source_ip=source_ip,
			status=REJECTED,
			error=refusal,
		)
		frappe.db.commit()  # the refused call is on record; nothing else happens
		return _json_response(FORBIDDEN_REPLY[endpoint], HTTP_FORBIDDEN)
	if endpoint == C2B_CONFIRMATION:
		# The request's end commits the payment (Frappe commits every POST): no commit of our own.
		result = receive_confirmation(raw_body, source_ip=source_ip, settings=settings, commit=False)
		return _json_response(result.reply, HTTP_OK)
	return _json_response(_decide_validation(raw_body, source_ip, settings), HTTP_OK)


def _decide_validation(raw_body: bytes, source_ip: str, settings: LedgerSettings) -> dict:
	"""Store the validation call, decide with the core, mark the log; the reply body."""
	now = now_datetime()
	log = store_callback(
		frappe.db,
		endpoint=C2B_VALIDATION,
		raw_body=_truncated(raw_body),
		received_at=now,
		source_ip=source_ip,
	)
	# Raw first, as for confirmations: the call is on record whatever the decision does.
	frappe.db.commit()  # unit-of-work boundary: the raw validation call is on record
	try:
		code, reason = c2b.decide_validation(frappe.db, raw_body, settings)
		mark_callback(
			frappe.db, log, status=c2b.PROCESSED if code == models.ACCEPT else REJECTED, now=now, error=reason
		)
	except Exception as exc:
		# We cannot vouch for the payment: reject it (the money does not move) and record why.
		code = models.OTHER_ERROR
		_record_failure(log, exc, title=VALIDATION_FAILED_TITLE, now=now)
	frappe.db.commit()  # end of the validation unit of work: the decision is on record
	return models.validation_reply(code)


def _record_failure(log: str, exc: Exception, *, title: str, now: datetime) -> None:
	"""Roll back the failed unit of work, mark its log Failed and write an Error Log (fixed title)."""
	frappe.db.rollback()
	mark_failed(frappe.db, log, exc, now=now)
	frappe.log_error(
		title=title,
		message=f"Callback log {log}: {type(exc).__name__}: {exc}\n\n{frappe.get_traceback()}",
		reference_doctype=LOG_DOCTYPE,
		reference_name=log,
	)


def _supplied_token(token: str | None) -> str:
	"""The ``token`` query parameter. Frappe drops query parameters from its form dict when the
	body is JSON (as Daraja's is), so read the URL first; ``token`` is the form-dict fallback."""
	return frappe.request.args.get("token") or token or ""


def _refusal(supplied_token: str, source_ip: str, settings: LedgerSettings) -> str:
	"""Why the caller is refused ("" if allowed): token compared in constant time, then the IP."""
	if not callback_token_configured():
		return "no callback token is configured in TukTuk Settings"
	if not callback_token_matches(supplied_token):
		return "missing or wrong token"
	try:
		allowed = ip_allowed(source_ip, settings.allowed_callback_ips)
	except ValueError:
		return "Allowed Callback IPs in TukTuk Settings cannot be parsed"
	if not allowed:
		return "source IP is not in Allowed Callback IPs"
	return ""


def _truncated(raw_body: bytes | str) -> bytes | str:
	"""At most CALLBACK_BODY_BYTES_MAX bytes of a body, for storing calls that may be hostile."""
	if isinstance(raw_body, str):
		raw_body = raw_body.encode("utf-8")
	return raw_body[: models.CALLBACK_BODY_BYTES_MAX]


def _json_response(body: dict, status: int) -> Response:
	return Response(json.dumps(body), status=status, content_type="application/json")
