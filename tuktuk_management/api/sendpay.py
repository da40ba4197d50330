"""The original app's B2C callback URLs (``ResultURL`` / ``QueueTimeOutURL`` of its payouts).

Aliases of :mod:`tuktuk_management.api.b2c`'s endpoints without the token, accepted only while
TukTuk Settings ``accept_legacy_callback_urls`` is on: results of payouts the original sent
before the upgrade still arrive here. A result that matches no payout of this app is stored on
the callback log (Invalid or Conflict, never applied to a balance).
"""

from __future__ import annotations

from werkzeug.wrappers import Response

import frappe

from tuktuk_management.api.b2c import respond
from tuktuk_management.ledger import payouts
from tuktuk_management.legacy import callbacks as legacy


@frappe.whitelist(allow_guest=True, methods=["POST"])
def b2c_result() -> Response:
	"""The original's B2C ``ResultURL``: as ``tuktuk_management.api.b2c.result`` without the token."""
	return respond(payouts.B2C_RESULT, None, legacy_url=legacy.B2C_RESULT)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def b2c_timeout() -> Response:
	"""The original's B2C ``QueueTimeOutURL``: as ``tuktuk_management.api.b2c.timeout`` without the token."""
	return respond(payouts.B2C_TIMEOUT, None, legacy_url=legacy.B2C_TIMEOUT)
