# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""Vehicle Collections: per day and vehicle, who was paid (the assigned driver or a substitute)
and how the payments split (ledger/vehicle_figures.py)."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import add_days, getdate, nowdate

from tuktuk_management.ledger import vehicle_figures
from tuktuk_management.tuktuk_management.report.daily_collections.daily_collections import (
	split_columns,
	split_values,
)

DEFAULT_DAYS = 7


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	to_date = getdate(filters.get("to_date") or nowdate())
	from_date = getdate(filters.get("from_date") or add_days(to_date, -(DEFAULT_DAYS - 1)))
	each_payment = bool(frappe.utils.cint(filters.get("each_payment")))
	if each_payment and not filters.get("tuktuk"):
		frappe.throw(_("Choose a vehicle to list each of its payments."))
	try:
		if each_payment:  # the vehicle's statement: one row per payment
			data = vehicle_figures.vehicle_payments(frappe.db, filters.tuktuk, from_date, to_date)
		else:
			data = vehicle_figures.vehicle_collections(
				frappe.db, from_date, to_date, tuktuk=filters.get("tuktuk") or None
			)
	except ValueError as exc:
		frappe.throw(_("Choose another period: {0}").format(exc))
	return columns(each_payment), [row_for_desk(row) for row in data]


def columns(each_payment: bool = False) -> list[dict]:
	payment = [
		{"fieldname": "paid_at", "label": _("Paid At"), "fieldtype": "Datetime", "width": 160},
		{
			"fieldname": "transaction",
			"label": _("Payment"),
			"fieldtype": "Link",
			"options": "TukTuk Transaction",
			"width": 120,
		},
	]
	return [
		*(payment if each_payment else []),
		{"fieldname": "business_date", "label": _("Date"), "fieldtype": "Date", "width": 110},
		{
			"fieldname": "tuktuk",
			"label": _("Vehicle"),
			"fieldtype": "Link",
			"options": "TukTuk Vehicle",
			"width": 100,
		},
		{
			"fieldname": "driver",
			"label": _("Paid Driver"),
			"fieldtype": "Link",
			"options": "TukTuk Driver",
			"width": 110,
		},
		{"fieldname": "paid_as", "label": _("Paid As"), "fieldtype": "Data", "width": 120},
		{
			"fieldname": "substitution",
			"label": _("Substitution"),
			"fieldtype": "Link",
			"options": "TukTuk Substitution",
			"width": 110,
		},
		*split_columns(),
	]


def row_for_desk(row: dict) -> dict:
	return {
		"paid_at": row.get("paid_at"),
		"transaction": row.get("transaction"),
		"business_date": row["business_date"],
		"tuktuk": row["tuktuk"],
		"driver": row["driver"],
		"paid_as": _(row["paid_as"]),
		"substitution": row["substitution"],
		**split_values(row),
	}
