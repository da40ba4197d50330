# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""Unallocated Payments: money in suspense (no driver could be found), oldest first, with the
reason; the report's Allocate action re-posts one to a driver or vehicle."""

from __future__ import annotations

import frappe
from frappe import _

from tuktuk_management.ledger import figures


def execute(filters: dict | None = None):
	data = [
		{
			"transaction": row["transaction"],
			"timestamp": row["timestamp"],
			"amount": row["amount_kes"],
			"bill_ref_number": row["bill_ref_number"],
			"tuktuk": row["tuktuk"],
			"reason": row["reason"],
		}
		for row in figures.unallocated_payments(frappe.db)
	]
	total = sum(row["amount"] for row in data)
	summary = [
		{"value": len(data), "label": _("Payments in suspense"), "datatype": "Int", "indicator": "Orange"},
		{"value": total, "label": _("Amount in suspense"), "datatype": "Currency", "indicator": "Orange"},
	]
	return columns(), data, None, None, summary


def columns() -> list[dict]:
	return [
		{
			"fieldname": "transaction",
			"label": _("Transaction"),
			"fieldtype": "Link",
			"options": "TukTuk Transaction",
			"width": 130,
		},
		{"fieldname": "timestamp", "label": _("Paid At"), "fieldtype": "Datetime", "width": 160},
		{"fieldname": "amount", "label": _("Amount"), "fieldtype": "Currency", "width": 110},
		{
			"fieldname": "bill_ref_number",
			"label": _("Account Number Given"),
			"fieldtype": "Data",
			"width": 160,
		},
		{
			"fieldname": "tuktuk",
			"label": _("Vehicle"),
			"fieldtype": "Link",
			"options": "TukTuk Vehicle",
			"width": 100,
		},
		{"fieldname": "reason", "label": _("Why Unallocated"), "fieldtype": "Data", "width": 260},
	]
