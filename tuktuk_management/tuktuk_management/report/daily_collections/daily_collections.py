# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""Daily Collections: per day, vehicle and driver — amount, target contribution, driver share,
deposit and suspense (by the payment's M-Pesa time), with a chart of the days."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import add_days, getdate, nowdate

from tuktuk_management.ledger import figures

DEFAULT_DAYS = 7


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	to_date = getdate(filters.get("to_date") or nowdate())
	from_date = getdate(filters.get("from_date") or add_days(to_date, -(DEFAULT_DAYS - 1)))
	try:
		data = figures.collections_by_day_and_driver(frappe.db, from_date, to_date)
		days = figures.collections_by_day(frappe.db, from_date, to_date)
	except ValueError as exc:
		frappe.throw(_("Choose another period: {0}").format(exc))
	if filters.get("driver"):
		data = [row for row in data if row["driver"] == filters.driver]
	if filters.get("tuktuk"):
		data = [row for row in data if row["tuktuk"] == filters.tuktuk]
	return columns(), [row_for_desk(row) for row in data], None, chart(days), summary(days)


def columns() -> list[dict]:
	return [
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
			"label": _("Driver"),
			"fieldtype": "Link",
			"options": "TukTuk Driver",
			"width": 110,
		},
		*split_columns(),
	]


def split_columns() -> list[dict]:
	"""The count and split columns of a collections row (shared with Vehicle Collections)."""
	currency = {"fieldtype": "Currency", "width": 120}
	return [
		{"fieldname": "payments_count", "label": _("Payments"), "fieldtype": "Int", "width": 90},
		{"fieldname": "amount", "label": _("Amount"), **currency},
		{"fieldname": "target_contribution", "label": _("Target Contribution"), **currency, "width": 150},
		{"fieldname": "driver_share", "label": _("Driver Share"), **currency},
		{"fieldname": "deposit_contribution", "label": _("Deposit"), **currency},
		{"fieldname": "unallocated", "label": _("Unallocated"), **currency},
	]


def row_for_desk(row: dict) -> dict:
	return {
		"business_date": row["business_date"],
		"tuktuk": row["tuktuk"],
		"driver": row["driver"],
		**split_values(row),
	}


def chart(days: list[figures.DayCollections]) -> dict:
	return {
		"data": {
			"labels": [frappe.format(day.business_date, "Date") for day in days],
			"datasets": [
				{"name": _("Target"), "values": [day.target_contribution_kes for day in days]},
				{"name": _("Driver share"), "values": [day.driver_share_kes for day in days]},
				{
					"name": _("Deposit and suspense"),
					"values": [day.deposit_contribution_kes + day.unallocated_kes for day in days],
				},
			],
		},
		"type": "bar",
		"barOptions": {"stacked": 1},
		"fieldtype": "Currency",
	}


def summary(days: list[figures.DayCollections]) -> list[dict]:
	total = sum(day.amount_kes for day in days)
	return [
		{"value": total, "label": _("Collected"), "datatype": "Currency", "indicator": "Blue"},
		{
			"value": sum(day.target_contribution_kes for day in days),
			"label": _("To targets"),
			"datatype": "Currency",
			"indicator": "Green",
		},
		{
			"value": sum(day.driver_share_kes for day in days),
			"label": _("Driver shares"),
			"datatype": "Currency",
		},
		{
			"value": sum(day.unallocated_kes for day in days),
			"label": _("Unallocated"),
			"datatype": "Currency",
			"indicator": "Orange",
		},
	]


def split_values(row: dict) -> dict:
	"""The count and split values of a collections row (whole KES), for :func:`split_columns`."""
	return {
		"payments_count": row["payments_count"],
		"amount": row["amount_kes"],
		"target_contribution": row["target_contribution_kes"],
		"driver_share": row["driver_share_kes"],
		"deposit_contribution": row["deposit_contribution_kes"],
		"unallocated": row["unallocated_kes"],
	}
