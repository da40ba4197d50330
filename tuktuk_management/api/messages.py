"""Broadcast SMS from the desk (TukTuk Manager / System Manager): preview, then send.

``preview_broadcast`` returns how many drivers a text reaches and the text exactly as it will be
sent; ``send_broadcast`` queues one TukTuk Message per driver (key ``broadcast:<id>:<driver>``,
so pressing Send twice with the same ``broadcast_id`` queues nothing more) and enqueues the
sender after the request commits. Recipients: Active drivers who have not opted out, optionally
only the listed ones or only those with a vehicle.
"""

from __future__ import annotations

import json

import frappe
from frappe import _
from frappe.utils import cint, now_datetime

from tuktuk_management import roles
from tuktuk_management.ledger import messages
from tuktuk_management.tasks import enqueue_message_job

PREVIEW_NAMES_MAX = 50
DRIVERS_MAX = 5_000


def _check_sender() -> None:
	"""Only managers (and System Managers) broadcast; ``frappe.only_for`` is skipped in tests, so
	the roles are checked again here."""
	if frappe.session.user != "Administrator" and set(roles.MONEY_MOVERS).isdisjoint(frappe.get_roles()):
		frappe.throw(_("Only TukTuk Managers can send broadcasts."), frappe.PermissionError)


def _drivers(drivers: str | list | None) -> list[str] | None:
	"""The filter of driver names: a list, JSON list, or one name per line; None/"" = all."""
	if drivers in (None, "", []):
		return None
	if isinstance(drivers, str):
		text = drivers.strip()
		names = json.loads(text) if text.startswith("[") else text.replace(",", "\n").splitlines()
	else:
		names = list(drivers)
	names = sorted({str(name).strip() for name in names if str(name).strip()})
	if len(names) > DRIVERS_MAX:
		frappe.throw(_("At most {0} drivers per broadcast.").format(DRIVERS_MAX))
	return names


def _preview(text: str, drivers, vehicle_assigned_only) -> messages.BroadcastPreview:
	if not messages.load_message_settings(frappe.db).enabled:
		frappe.throw(_("SMS is switched off in TukTuk Settings (Driver Messages)."))
	try:
		return messages.preview_broadcast(
			frappe.db,
			text,
			drivers=_drivers(drivers),
			vehicle_assigned_only=bool(cint(vehicle_assigned_only)),
		)
	except ValueError as exc:
		frappe.throw(_(str(exc)))


@frappe.whitelist()
def preview_broadcast(
	text: str, drivers: str | list | None = None, vehicle_assigned_only: int | str = 0
) -> dict:
	"""``{"count", "text", "drivers" (the first 50 names), "characters"}``; nothing is written."""
	frappe.only_for(roles.MONEY_MOVERS)
	_check_sender()
	preview = _preview(text, drivers, vehicle_assigned_only)
	return {
		"count": preview.count,
		"text": preview.text,
		"drivers": preview.drivers[:PREVIEW_NAMES_MAX],
		"characters": len(preview.text),
	}


@frappe.whitelist(methods=["POST"])
def send_broadcast(
	text: str, broadcast_id: str, drivers: str | list | None = None, vehicle_assigned_only: int | str = 0
) -> dict:
	"""Queue the broadcast (one message per driver, idempotent on ``broadcast_id``); ``{"count"}``."""
	frappe.only_for(roles.MONEY_MOVERS)
	_check_sender()
	broadcast_id = (broadcast_id or "").strip()[:40]
	if not broadcast_id:
		frappe.throw(_("A broadcast needs an id."))
	preview = _preview(text, drivers, vehicle_assigned_only)
	count = messages.queue_broadcast(
		frappe.db, preview, broadcast_id=broadcast_id, now=now_datetime(), user=frappe.session.user
	)
	if count:
		enqueue_message_job()
	return {"count": count, "text": preview.text}
