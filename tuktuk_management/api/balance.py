"""Daraja Account Balance result and timeout endpoints (DESIGN §7, §9): thin guests over
``ledger/mpesa_statement/balance.py``.

Registered as ``ResultURL`` / ``QueueTimeOutURL`` of each paybill balance query, with the TukTuk
Settings ``callback_token``:

    POST /api/method/tuktuk_management.api.balance.result?token=<callback_token>
    POST /api/method/tuktuk_management.api.balance.timeout?token=<callback_token>

Guarded like the other callbacks (``api.callbacks.accept_call``: token compared in constant
time, optional IP allowlist; a refused call is stored as Rejected and answered 403). An accepted
body goes through the stored-callback routine (stored raw and committed, then applied to its
TukTuk Paybill Balance Check); a difference beyond the tolerance alerts the managers and the
reconciliation recipients.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from werkzeug.wrappers import Response

import frappe
from frappe import _
from frappe.utils import get_url, get_url_to_form, now_datetime

from tuktuk_management.alerts import notify_managers, queue_email, recipients
from tuktuk_management.api.callbacks import accept_call, json_response, truncated
from tuktuk_management.daraja.b2c import callback_ack
from tuktuk_management.ledger.callback_log import Logged, apply_logged, receive_logged
from tuktuk_management.ledger.mpesa_statement import balance
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE

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
	call = accept_call(endpoint, token, FORBIDDEN_REPLY)
	if call.refused:
		return call.refused
	receive_logged(
		frappe.db,
		endpoint=endpoint,
		raw_body=truncated(call.raw_body),
		received_at=now_datetime(),
		source_ip=call.source_ip,
		apply=lambda log: apply_stored_balance_result(
			log, call.raw_body, endpoint=endpoint, now=now_datetime()
		),
	)
	return json_response(callback_ack())


def apply_stored_balance_result(
	log: str, raw_body: bytes | str, *, endpoint: str, now: datetime
) -> Logged[balance.BalanceOutcome]:
	"""Apply one stored balance body in its own unit of work (committed); alert on a difference."""
	return apply_logged(
		frappe.db,
		log,
		lambda: balance.process_logged_result(frappe.db, log, raw_body, endpoint=endpoint, now=now),
		now=now,
		on_applied=_balance_applied,
		on_failed=lambda failed_log, exc: frappe.log_error(
			title=PROCESSING_FAILED_TITLE, message=f"callback log {failed_log}: {type(exc).__name__}: {exc}"
		),
	)


def _balance_applied(log: str, outcome: balance.BalanceOutcome) -> None:
	if outcome.status == balance.PROCESSED and outcome.check_status == balance.DIFFERENCE:
		send_balance_alert(outcome.check, outcome.difference_kes)


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
