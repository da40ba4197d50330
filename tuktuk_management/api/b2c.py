"""Daraja B2C result and timeout endpoints (DESIGN §4, §7): thin guests over ledger.payouts.

Sent by the payout job as ``ResultURL`` / ``QueueTimeOutURL`` of each B2C request (and of each
Transaction Status query), with the TukTuk Settings ``callback_token``:

    POST /api/method/tuktuk_management.api.b2c.result?token=<callback_token>
    POST /api/method/tuktuk_management.api.b2c.timeout?token=<callback_token>

Protected like the C2B callbacks (:mod:`tuktuk_management.api.callbacks`): the token
(constant-time compare) and the optional IP allowlist; a refused call is stored as Rejected and
answered 403, nothing else happens. An accepted call is stored raw in TukTuk Callback Log
(endpoint "B2C Result"/"B2C Timeout") and committed, then applied under the payout row lock
(:func:`tuktuk_management.stored_callbacks.receive_result`) and acknowledged with a top-level
``{"ResultCode": 0, "ResultDesc": "Accepted"}``. Applying is idempotent: a repeated result is
marked Duplicate and changes nothing.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

import frappe

from tuktuk_management.api.callbacks import accept_call, json_response, truncated
from tuktuk_management.daraja.b2c import callback_ack
from tuktuk_management.ledger import payouts
from tuktuk_management.stored_callbacks import receive_result

FORBIDDEN_REPLY = {"ResultCode": 1, "ResultDesc": "Forbidden"}


@frappe.whitelist(allow_guest=True, methods=["POST"])
def result(token: str | None = None) -> Response:
	"""Daraja B2C ``ResultURL`` (also Transaction Status results): store, apply, acknowledge.

	token: the ``token`` query parameter. Returns 200 ``{"ResultCode": 0, "ResultDesc":
	"Accepted"}`` whatever the outcome (Invalid, Duplicate, Conflict and failures are on the
	callback log), or 403 for a refused caller.
	"""
	return respond(payouts.B2C_RESULT, token)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def timeout(token: str | None = None) -> Response:
	"""Daraja B2C ``QueueTimeOutURL``: the request timed out in Daraja's queue; the payout becomes
	Unknown and is resolved by a Transaction Status query (never by a blind resend)."""
	return respond(payouts.B2C_TIMEOUT, token)


def respond(endpoint: str, token: str | None, *, legacy_url: str = "") -> Response:
	"""Check the caller, store, apply, acknowledge; ``legacy_url``: the original app's URL of an
	alias call (no token; accepted only while TukTuk Settings allows legacy callback URLs)."""
	call = accept_call(endpoint, token, FORBIDDEN_REPLY, legacy_url=legacy_url)
	if call.refused:
		return call.refused
	receive_result(
		call.raw_body,
		truncated(call.raw_body),
		endpoint=endpoint,
		source_ip=call.source_ip,
		settings=call.settings,
		legacy_url=legacy_url or None,
		remote_addr=call.remote_addr,
		forwarded_for=call.forwarded_for,
	)
	return json_response(callback_ack())
