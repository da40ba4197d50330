# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""Payout Monitor: B2C payouts that need a manager — Failed, Unknown (result not known), and
stuck (Queued or Sent for longer than the threshold) — or any chosen status, newest first; the
report's Retry and Cancel actions call the payouts API."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import cint, now_datetime

from tuktuk_management.ledger import figures
from tuktuk_management.ledger.status import PayoutStatus

NEEDS_ATTENTION = "Needs Attention"
# The list view's status colours (tuktuk_payout_list.js), as chart colours.
STATUS_COLOURS = {
	PayoutStatus.QUEUED: "#2490EF",
	PayoutStatus.SENT: "#20C997",
	PayoutStatus.PAID: "#29CD42",
	PayoutStatus.FAILED: "#E24C4C",
	PayoutStatus.UNKNOWN: "#ECAD4B",
	PayoutStatus.CANCELLED: "#98A1A9",
}


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	status = filters.get("status") or NEEDS_ATTENTION
	stuck_after = cint(filters.get("stuck_after_minutes")) or figures.STUCK_PAYOUT_AFTER_MINUTES
	if stuck_after < 1:
		frappe.throw(_("Stuck After (minutes) must be at least 1."))
	statuses = () if status == NEEDS_ATTENTION else (status,)
	try:
		rows = figures.payout_monitor(
			frappe.db, now=now_datetime(), statuses=statuses, stuck_after_minutes=stuck_after
		)
	except ValueError:
		frappe.throw(_("Unknown payout status {0}.").format(status))
	data = [
		{
			"payout": row["payout"],
			"driver": row["driver"],
			"amount": row["amount_kes"],
			"status": row["status"],
			"stuck": 1 if row["stuck"] else 0,
			"queued_at": row["queued_at"],
			"age_minutes": row["age_minutes"],
			"attempts": row["attempts"],
			"result_code": row["result_code"],
			"result_desc": row["result_desc"],
			"transaction": row["transaction"],
		}
		for row in rows
	]
	return columns(), data, None, chart(data)


def columns() -> list[dict]:
	return [
		{
			"fieldname": "payout",
			"label": _("Payout"),
			"fieldtype": "Link",
			"options": "TukTuk Payout",
			"width": 110,
		},
		{
			"fieldname": "driver",
			"label": _("Driver"),
			"fieldtype": "Link",
			"options": "TukTuk Driver",
			"width": 100,
		},
		{"fieldname": "amount", "label": _("Amount"), "fieldtype": "Currency", "width": 100},
		{"fieldname": "status", "label": _("Status"), "fieldtype": "Data", "width": 90},
		{"fieldname": "stuck", "label": _("Stuck"), "fieldtype": "Check", "width": 60},
		{"fieldname": "queued_at", "label": _("Queued At"), "fieldtype": "Datetime", "width": 160},
		{"fieldname": "age_minutes", "label": _("Age (min)"), "fieldtype": "Int", "width": 80},
		{"fieldname": "attempts", "label": _("Attempts"), "fieldtype": "Int", "width": 80},
		{"fieldname": "result_code", "label": _("Result Code"), "fieldtype": "Data", "width": 90},
		{"fieldname": "result_desc", "label": _("Result"), "fieldtype": "Data", "width": 220},
		{
			"fieldname": "transaction",
			"label": _("Payment"),
			"fieldtype": "Link",
			"options": "TukTuk Transaction",
			"width": 120,
		},
	]


def chart(data: list[dict]) -> dict | None:
	counts: dict[str, int] = {}
	for row in data:
		counts[row["status"]] = counts.get(row["status"], 0) + 1
	if not counts:
		return None
	return {
		"data": {
			"labels": list(counts),
			"datasets": [{"name": _("Payouts"), "values": list(counts.values())}],
		},
		"type": "donut",
		"colors": [STATUS_COLOURS.get(status, "#98A1A9") for status in counts],
	}
