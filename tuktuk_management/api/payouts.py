"""Payout actions for managers (DESIGN §4).

Whitelisted (TukTuk Manager / System Manager only), used by the buttons on the TukTuk Payout
form:

- ``retry_payout(payout)``: Queued → send now; Failed → a new attempt (new
  OriginatorConversationID), even after a final code or the last automatic attempt; Sent or
  Unknown → resolve it (Transaction Status query, or the same request again when Daraja never
  acknowledged it). The work runs in the background job after the request commits.
- ``cancel_payout(payout, reason)``: Queued or Failed → Cancelled; the share stays in the
  driver's Payout Pending for a later payout or a manual settlement.

The payout job itself is :func:`tuktuk_management.tasks.send_payout_job`, enqueued with
``enqueue_after_commit=True`` (:func:`tuktuk_management.tasks.enqueue_payout_job`) so it never
runs for a payment that rolled back and never while the payment's row locks are held.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import now_datetime

from tuktuk_management import roles
from tuktuk_management.ledger import doctypes, payouts
from tuktuk_management.tasks import NOT_CONFIGURED, daraja_client, enqueue_payout_job, send_payout_job

PAYOUT_DOCTYPE = doctypes.PAYOUT
RETRY_MODES = {
	payouts.QUEUED: "send",
	payouts.FAILED: "retry",
	payouts.UNKNOWN: "resolve",
	payouts.SENT: "resolve",
}


@frappe.whitelist(methods=["POST"])
def retry_payout(payout: str) -> dict:
	"""Queue a manager's retry of ``payout`` (TukTuk Payout name) for the background job.

	Returns ``{"payout", "status", "action"}`` (action: send, retry or resolve). Throws for a
	Paid or Cancelled payout, or when Daraja is not configured.
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	status = frappe.db.get_value(PAYOUT_DOCTYPE, payout, "status", for_update=True)
	if status is None:
		frappe.throw(_("Payout {0} does not exist.").format(payout), frappe.DoesNotExistError)
	if status not in RETRY_MODES:
		frappe.throw(_("Payout {0} is {1}; there is nothing to retry.").format(payout, _(status)))
	if daraja_client() is None:
		frappe.throw(_(NOT_CONFIGURED))
	action = RETRY_MODES[status]
	enqueue_payout_job(payout, mode=action, manual=True)
	frappe.get_doc(PAYOUT_DOCTYPE, payout).add_comment(
		"Info", _("Retry requested by {0} ({1}).").format(frappe.session.user, action)
	)
	return {"payout": payout, "status": status, "action": action}


@frappe.whitelist(methods=["POST"])
def cancel_payout(payout: str, reason: str) -> dict:
	"""Cancel a Queued or Failed ``payout``; ``reason`` is required and kept on the payout.

	Returns ``{"payout", "status": "Cancelled", "payout_pending_kes"}`` (the driver's payable,
	unchanged). Throws for any other status (a Sent or Unknown payout may still be paid).
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	try:
		outcome = payouts.cancel_payout(
			frappe.db, payout, reason=reason, user=frappe.session.user, now=now_datetime()
		)
	except payouts.PayoutStateError as exc:
		frappe.throw(_(str(exc)), title=_("Cannot Cancel Payout"))
	frappe.get_doc(PAYOUT_DOCTYPE, payout).add_comment(
		"Info", _("Cancelled by {0}: {1}").format(frappe.session.user, reason.strip())
	)
	pending = frappe.db.get_value("TukTuk Driver", outcome.driver, "payout_pending")
	return {"payout": payout, "status": outcome.status, "payout_pending_kes": pending}


# The payout job's path before it moved to tasks: a job enqueued under it before an upgrade still
# runs. Not whitelisted; drop it once no such job can be waiting (one release later).
send_payout = send_payout_job
