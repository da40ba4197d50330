"""Daraja B2C result and timeout endpoints (DESIGN §4, §7): thin guests over ledger.payouts.

Sent by the payout job as ``ResultURL`` / ``QueueTimeOutURL`` of each B2C request (and of each
Transaction Status query), with the TukTuk Settings ``callback_token``:

    POST /api/method/tuktuk_management.api.b2c.result?token=<callback_token>
    POST /api/method/tuktuk_management.api.b2c.timeout?token=<callback_token>

Protected like the C2B callbacks: the token (constant-time compare) and the optional IP
allowlist; a refused call is stored as Rejected and answered 403, nothing else happens. An
accepted call is stored raw in TukTuk Callback Log (endpoint "B2C Result"/"B2C Timeout") and
committed, then applied under the payout row lock and acknowledged with a top-level
``{"ResultCode": 0, "ResultDesc": "Accepted"}``. Applying is idempotent: a repeated result is
marked Duplicate and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

import frappe
from frappe.utils import now_datetime
from werkzeug.wrappers import Response

from tuktuk_management.api.c2b import (
	HTTP_FORBIDDEN,
	HTTP_OK,
	_json_response,
	_record_failure,
	_refusal,
	_supplied_token,
	_truncated,
)
from tuktuk_management.daraja.b2c import callback_ack
from tuktuk_management.ledger import payouts
from tuktuk_management.ledger.callback_log import FAILED, REJECTED, store_callback
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.settings import LedgerSettings, load_settings
from tuktuk_management.settings_cache import cached_settings

LOG_DOCTYPE = "TukTuk Callback Log"
PROCESSING_FAILED_TITLE = "TukTuk B2C result processing failed"
CONFLICT_TITLE = "TukTuk B2C result conflict"
FORBIDDEN_REPLY = {"ResultCode": 1, "ResultDesc": "Forbidden"}


@frappe.whitelist(allow_guest=True, methods=["POST"])
def result(token: str | None = None) -> Response:
	"""Daraja B2C ``ResultURL`` (also Transaction Status results): store, apply, acknowledge.

	token: the ``token`` query parameter. Returns 200 ``{"ResultCode": 0, "ResultDesc":
	"Accepted"}`` whatever the outcome (Invalid, Duplicate, Conflict and failures are on the
	callback log), or 403 for a refused caller.
	"""
	return _callback_response(payouts.B2C_RESULT, token)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def timeout(token: str | None = None) -> Response:
	"""Daraja B2C ``QueueTimeOutURL``: the request timed out in Daraja's queue; the payout becomes
	Unknown and is resolved by a Transaction Status query (never by a blind resend)."""
	return _callback_response(payouts.B2C_TIMEOUT, token)


def _callback_response(endpoint: str, token: str | None) -> Response:
	raw_body = frappe.request.get_data(cache=True)
	source_ip = frappe.local.request_ip or ""
	settings = cached_settings()
	refusal = _refusal(_supplied_token(token), source_ip, settings)
	now = now_datetime()
	if refusal:
		store_callback(
			frappe.db,
			endpoint=endpoint,
			raw_body=_truncated(raw_body),
			received_at=now,
			source_ip=source_ip,
			status=REJECTED,
			error=refusal,
		)
		frappe.db.commit()  # the refused call is on record; nothing else happens
		return _json_response(FORBIDDEN_REPLY, HTTP_FORBIDDEN)
	log = store_callback(
		frappe.db, endpoint=endpoint, raw_body=_truncated(raw_body), received_at=now, source_ip=source_ip
	)
	# Raw first: the body is committed before processing, so a failure leaves it for the job.
	frappe.db.commit()
	apply_stored_result(log, raw_body, endpoint=endpoint, settings=settings, now=now)
	return _json_response(callback_ack(), HTTP_OK)


def apply_stored_result(
	log: str, raw_body: bytes | str, *, endpoint: str, settings: LedgerSettings, now: datetime
) -> str:
	"""Apply one stored result/timeout body in its own unit of work and commit; the log status.

	Deadlocks are retried; any other error rolls back, marks the log Failed (the scheduled job
	retries it) and writes an Error Log with a fixed title.
	"""
	try:
		outcome = run_with_retry(
			lambda: payouts.process_logged_result(
				frappe.db, log, raw_body, endpoint=endpoint, now=now, settings=settings
			),
			rollback=frappe.db.rollback,
		)
	except Exception as exc:
		_record_failure(log, exc, title=PROCESSING_FAILED_TITLE, now=now)
		frappe.db.commit()  # unit-of-work boundary: the Failed mark is kept for the retry job
		return FAILED
	if outcome.status == payouts.CONFLICT:
		frappe.log_error(
			title=CONFLICT_TITLE,
			message=f"Payout {outcome.payout} (callback log {log}): {outcome.reason}. Check the M-Pesa statement.",
			reference_doctype=LOG_DOCTYPE,
			reference_name=log,
		)
	frappe.db.commit()  # end of the unit of work (payout transition + log mark)
	return outcome.status
