"""Payout actions for managers, and the background job that sends a payout (DESIGN §4).

Whitelisted (TukTuk Manager / System Manager only), used by the buttons on the TukTuk Payout
form:

- ``retry_payout(payout)``: Queued → send now; Failed → a new attempt (new
  OriginatorConversationID), even after a final code or the last automatic attempt; Sent or
  Unknown → resolve it (Transaction Status query, or the same request again when Daraja never
  acknowledged it). The work runs in the background job after the request commits.
- ``cancel_payout(payout, reason)``: Queued or Failed → Cancelled; the share stays in the
  driver's Payout Pending for a later payout or a manual settlement.

``send_payout`` is the background job (not whitelisted): ``frappe.enqueue`` it with
``enqueue_after_commit=True`` so it never runs for a payment that rolled back and never while
the payment's row locks are held.
"""

from __future__ import annotations

from urllib.parse import quote

import frappe
from frappe import _
from frappe.utils import get_url, now_datetime

from tuktuk_management import roles
from tuktuk_management.daraja.client import DarajaClient, DarajaConfig
from tuktuk_management.daraja_tokens import RedisTokenCache
from tuktuk_management.ledger import payouts
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, load_settings

PAYOUT_DOCTYPE = "TukTuk Payout"
JOB_QUEUE = "short"
JOB_TIMEOUT_S = 300
NOT_CONFIGURED = "Daraja credentials are not configured in TukTuk Settings"
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
	enqueue_send(payout, mode=action, manual=True)
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


def enqueue_send(payout: str, *, mode: str = "send", manual: bool = False) -> None:
	"""Enqueue :func:`send_payout` after the current transaction commits (one job per payout)."""
	frappe.enqueue(
		"tuktuk_management.api.payouts.send_payout",
		queue=JOB_QUEUE,
		timeout=JOB_TIMEOUT_S,
		job_id=f"tuktuk_payout_{payout}",
		deduplicate=True,
		enqueue_after_commit=True,
		payout=payout,
		mode=mode,
		manual=manual,
	)


def send_payout(payout: str, mode: str = "send", manual: bool = False) -> dict:
	"""Background job: send (``send``/``retry``) or resolve (``resolve``) one payout.

	Each step commits its own unit of work (claim; Daraja call with no transaction open;
	reply recorded). Does nothing (and says so) while Daraja is not configured, or while
	instant payouts are off for an automatic first send. Returns ``{"payout", "status",
	"reason"}``.
	"""
	client = daraja_client()
	if client is None:
		return {"payout": payout, "status": None, "reason": NOT_CONFIGURED}
	settings = load_settings(frappe.db)
	if mode == "send" and not manual and not settings.instant_payouts_enabled:
		return {"payout": payout, "status": None, "reason": "instant payouts are switched off"}
	common = {"client": client, "settings": settings, "clock": now_datetime, "commit": frappe.db.commit}
	if mode == "resolve":
		outcome = payouts.resolve_payout(frappe.db, payout, force=manual, **common)
	else:
		outcome = payouts.send_payout(frappe.db, payout, mode=mode, manual=manual, **common)
	return {"payout": outcome.payout, "status": outcome.status, "reason": outcome.reason}


def callback_url(method: str) -> str:
	"""The public URL of a B2C callback endpoint with the callback token."""
	token = frappe.get_single(SETTINGS_DOCTYPE).get_password("callback_token", raise_exception=False) or ""
	return get_url(f"/api/method/tuktuk_management.api.b2c.{method}?token={quote(token, safe='')}")


def daraja_client() -> DarajaClient | None:
	"""A Daraja client from TukTuk Settings, or None while a credential is missing."""
	settings = frappe.get_single(SETTINGS_DOCTYPE)
	secrets = {
		field: settings.get_password(field, raise_exception=False) or ""
		for field in ("daraja_consumer_key", "daraja_consumer_secret", "b2c_security_credential")
	}
	if not all(secrets.values()) or not settings.b2c_shortcode or not settings.b2c_initiator_name:
		return None
	return DarajaClient(
		DarajaConfig(
			consumer_key=secrets["daraja_consumer_key"],
			consumer_secret=secrets["daraja_consumer_secret"],
			shortcode=settings.b2c_shortcode,
			initiator_name=settings.b2c_initiator_name,
			security_credential=secrets["b2c_security_credential"],
			result_url=callback_url("result"),
			timeout_url=callback_url("timeout"),
			environment=settings.daraja_environment or "Sandbox",
			base_url=frappe.conf.get("tuktuk_daraja_base_url") or "",
			command_id=settings.b2c_command_id or "BusinessPayment",
		),
		token_cache=RedisTokenCache(),  # shared by every worker: one OAuth request per token lifetime
	)
