"""Daraja Account Balance result and timeout endpoints (DESIGN §7, §9): thin guests over
``ledger/mpesa_statement/balance.py``.

Registered as ``ResultURL`` / ``QueueTimeOutURL`` of each paybill balance query, with the TukTuk
Settings ``callback_token``:

    POST /api/method/tuktuk_management.api.balance.result?token=<callback_token>
    POST /api/method/tuktuk_management.api.balance.timeout?token=<callback_token>

Protected like the other callbacks (token compared in constant time, optional IP allowlist; a
refused call is stored as Rejected and answered 403). An accepted body is stored raw in TukTuk
Callback Log and committed, then applied to its TukTuk Paybill Balance Check; a difference
beyond the tolerance alerts the managers and the reconciliation recipients.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import frappe
from frappe import _
from frappe.utils import get_url, get_url_to_form, now_datetime
from werkzeug.wrappers import Response

from tuktuk_management.alerts import notify_managers, queue_email, recipients
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
from tuktuk_management.ledger.callback_log import FAILED, REJECTED, store_callback
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.mpesa_statement import balance
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, load_settings

PROCESSING_FAILED_TITLE = "TukTuk balance result processing failed"
FORBIDDEN_REPLY = {"ResultCode": 1, "ResultDesc": "Forbidden"}


@frappe.whitelist(allow_guest=True, methods=["POST"])
def result(token: str | None = None) -> Response:
	"""Daraja Account Balance ``ResultURL``: store, apply, acknowledge (200 whatever the outcome;
	403 for a refused caller)."""
	return _callback_response(balance.BALANCE_RESULT, token)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def timeout(token: str | None = None) -> Response:
	"""Daraja Account Balance ``QueueTimeOutURL``: the query timed out; its check is Failed."""
	return _callback_response(balance.BALANCE_TIMEOUT, token)


def callback_url(method: str) -> str:
	token = frappe.get_single(SETTINGS_DOCTYPE).get_password("callback_token", raise_exception=False) or ""
	return get_url(f"/api/method/tuktuk_management.api.balance.{method}?token={quote(token, safe='')}")


def _callback_response(endpoint: str, token: str | None) -> Response:
	raw_body = frappe.request.get_data(cache=True)
	source_ip = frappe.local.request_ip or ""
	settings = load_settings(frappe.db)
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
	apply_stored_balance_result(log, raw_body, endpoint=endpoint, now=now)
	return _json_response(callback_ack(), HTTP_OK)


def apply_stored_balance_result(log: str, raw_body: bytes | str, *, endpoint: str, now: datetime) -> str:
	"""Apply one stored balance body in its own unit of work and commit; alert on a difference."""
	try:
		outcome = run_with_retry(
			lambda: balance.process_logged_result(frappe.db, log, raw_body, endpoint=endpoint, now=now),
			rollback=frappe.db.rollback,
		)
	except Exception as exc:
		_record_failure(log, exc, title=PROCESSING_FAILED_TITLE, now=now)
		frappe.db.commit()  # unit-of-work boundary: the Failed mark is kept for the hourly job
		return FAILED
	frappe.db.commit()  # end of the unit of work (the check's figures + the log mark)
	if outcome.status == balance.PROCESSED and outcome.check_status == balance.DIFFERENCE:
		send_balance_alert(outcome.check, outcome.difference_kes)
		frappe.db.commit()  # nosemgrep: the alert's Email Queue rows and notifications
	return outcome.status


def send_balance_alert(check: str, difference_kes) -> None:
	subject = _("TukTuk paybill balance differs from the books by {0} KES").format(difference_kes)
	to = recipients()
	if to:
		queue_email(
			recipients=to,
			subject=subject,
			message=_(
				"The M-Pesa balance check {0} found a difference of {1} KES between M-Pesa and the books "
				"(beyond the tolerance). Open it: {2}. Match the latest statement to find the cause."
			).format(check, difference_kes, get_url_to_form(balance.CHECK_DOCTYPE, check)),
			reference_doctype=balance.CHECK_DOCTYPE,
			reference_name=check,
		)
	notify_managers(subject, document_type=balance.CHECK_DOCTYPE, document_name=check, email_content=subject)
