# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""Deposit: who owes what (each driver's required deposit, the deposit held and the shortfall)
and, for one driver, the history of their deposit account (every ledger line with its voucher
and, for a TukTuk Deposit Entry, its kind, reference and reason). Managers and accountants."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import getdate

from tuktuk_management import roles
from tuktuk_management.ledger import deposits
from tuktuk_management.ledger.owed.settings import load_money_settings


def execute(filters: dict | None = None):
	frappe.only_for(roles.DESK_READERS)
	filters = frappe._dict(filters or {})
	if filters.get("driver"):
		return history(filters)
	default_kes = load_money_settings(frappe.db).default_deposit_required_kes
	standings = deposits.deposit_standings(frappe.db, default_kes, only_short=bool(filters.get("only_short")))
	rows = [
		{
			"driver": s.driver,
			"driver_name": s.driver_name,
			"status": s.status,
			"required_kes": s.required_kes,
			"held_kes": s.held_kes,
			"shortfall_kes": s.shortfall_kes,
		}
		for s in standings
	]
	summary = [
		{"value": sum(s.held_kes for s in standings), "label": _("Deposits Held"), "datatype": "Currency"},
		{
			"value": sum(s.shortfall_kes for s in standings),
			"label": _("Shortfall"),
			"datatype": "Currency",
			"indicator": "Red" if any(s.shortfall_kes for s in standings) else "Green",
		},
		{
			"value": sum(1 for s in standings if s.shortfall_kes),
			"label": _("Drivers Short"),
			"datatype": "Int",
		},
	]
	return standing_columns(), rows, None, None, summary


def standing_columns() -> list[dict]:
	currency = {"fieldtype": "Currency", "width": 130}
	return [
		{
			"fieldname": "driver",
			"label": _("Driver"),
			"fieldtype": "Link",
			"options": "TukTuk Driver",
			"width": 110,
		},
		{"fieldname": "driver_name", "label": _("Name"), "fieldtype": "Data", "width": 160},
		{"fieldname": "status", "label": _("Status"), "fieldtype": "Data", "width": 90},
		{"fieldname": "required_kes", "label": _("Required"), **currency},
		{"fieldname": "held_kes", "label": _("Held"), **currency},
		{"fieldname": "shortfall_kes", "label": _("Shortfall"), **currency},
	]


def history(filters):
	driver = filters.driver
	if not frappe.db.exists("TukTuk Driver", driver):
		frappe.throw(_("Driver {0} not found.").format(driver))
	from_date = getdate(filters.from_date) if filters.get("from_date") else None
	to_date = getdate(filters.to_date) if filters.get("to_date") else None
	lines = deposits.deposit_history(frappe.db, driver, from_date, to_date)
	rows = [
		{
			**line,
			"remarks": (_("Reversal") + " " if line["is_reversal"] else "")
			+ (line["reason"] or line["reference"] or line["remarks"]),
		}
		for line in lines
	]
	currency = {"fieldtype": "Currency", "width": 110}
	columns = [
		{"fieldname": "posting_datetime", "label": _("Posted"), "fieldtype": "Datetime", "width": 160},
		{
			"fieldname": "voucher_type",
			"label": _("Voucher Type"),
			"fieldtype": "Link",
			"options": "DocType",
			"width": 150,
		},
		{
			"fieldname": "voucher_no",
			"label": _("Voucher"),
			"fieldtype": "Dynamic Link",
			"options": "voucher_type",
			"width": 120,
		},
		{"fieldname": "kind", "label": _("Kind"), "fieldtype": "Data", "width": 120},
		{"fieldname": "in_kes", "label": _("In"), **currency},
		{"fieldname": "out_kes", "label": _("Out"), **currency},
		{"fieldname": "balance_kes", "label": _("Deposit Balance"), **currency, "width": 130},
		{"fieldname": "remarks", "label": _("Reason / Reference"), "fieldtype": "Data", "width": 240},
	]
	return columns, rows
