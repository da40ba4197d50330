# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""Statement Reconciliation: the M-Pesa statement lines of an import (or a date range) with
their match outcome, and the book entries of the period the statement does not have; counts
and amounts per outcome on top. Recover and Match Again act through ``api/statement.py``."""

from __future__ import annotations

from datetime import datetime, time

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

from tuktuk_management import roles
from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.mpesa_statement import match

INDICATOR = {
	match.MATCHED: "Green",
	match.CHARGE_POSTED: "Green",
	match.IGNORED: "Grey",
	match.DIFFERS: "Red",
	match.NOT_IN_BOOKS: "Orange",
	match.PAYOUT_UNSETTLED: "Orange",
	match.PAID_TWICE: "Red",
	match.NOT_IN_STATEMENT: "Red",
}


def execute(filters: dict | None = None):
	frappe.only_for(roles.STATEMENT_RECONCILERS)
	filters = frappe._dict(filters or {})
	start, end = period(filters)
	lines = match.load_lines(frappe.db, start, end)
	books = match.match_lines(
		frappe.db, lines, period_start=start, period_end=end, payout_window=match.payout_window(frappe.db)
	).not_in_statement
	data = [line_row(line) for line in lines]
	data += [book_row(entry) for entry in books]
	summary = report_summary(data)
	if filters.match_status:
		data = [row for row in data if row["match_status"] == filters.match_status]
	elif not filters.show_matched:
		data = [row for row in data if row["match_status"] not in (match.MATCHED, match.CHARGE_POSTED)]
	return columns(), data, None, None, summary


def period(filters) -> tuple[datetime, datetime]:
	if filters.statement_import:
		return match.import_period(frappe.db, filters.statement_import)
	start = getdate(filters.from_date or nowdate())
	end = getdate(filters.to_date or filters.from_date or nowdate())
	return datetime.combine(start, time.min), datetime.combine(end, time.max)


def line_row(line: match.StoredLine) -> dict:
	return {
		"line": line.name,
		"receipt_no": line.receipt_no,
		"completion_time": line.completion_time,
		"line_type": line.line_type,
		"paid_in": line.paid_in_kes,
		"withdrawn": line.withdrawn_kes,
		"account_no": line.account_no,
		"match_status": line.match_status,
		"match_note": line.match_note,
		"transaction": line.transaction,
		"payout": line.payout,
		"recovered": int(line.recovered),
	}


def book_row(entry: dict) -> dict:
	is_payment = entry["doctype"] == accounts.TRANSACTION_DOCTYPE
	return {
		"line": None,
		"receipt_no": entry["name"],
		"completion_time": entry["at"],
		"line_type": _("Book: Payment") if is_payment else _("Book: Payout"),
		"paid_in": entry["amount_kes"] if is_payment else 0,
		"withdrawn": 0 if is_payment else entry["amount_kes"],
		"account_no": None,
		"match_status": match.NOT_IN_STATEMENT,
		"match_note": _("in the books, not in the statement"),
		"transaction": entry["name"] if is_payment else None,
		"payout": None if is_payment else entry["name"],
		"recovered": 0,
	}


def report_summary(data: list[dict]) -> list[dict]:
	summary = []
	for status in (*match.LINE_OUTCOMES, match.NOT_IN_STATEMENT):
		rows = [row for row in data if row["match_status"] == status]
		if not rows and status not in (match.MATCHED, match.NOT_IN_BOOKS, match.NOT_IN_STATEMENT):
			continue
		amount = sum(row["paid_in"] + row["withdrawn"] for row in rows)
		summary.append(
			{
				"value": f"{len(rows)} / KES {amount:,.0f}",
				"label": _(status),
				"datatype": "Data",
				"indicator": INDICATOR[status],
			}
		)
	return summary


def columns() -> list[dict]:
	return [
		{
			"fieldname": "line",
			"label": _("Line"),
			"fieldtype": "Link",
			"options": "TukTuk Statement Line",
			"width": 120,
		},
		{"fieldname": "receipt_no", "label": _("Receipt No."), "fieldtype": "Data", "width": 120},
		{
			"fieldname": "completion_time",
			"label": _("Completion Time"),
			"fieldtype": "Datetime",
			"width": 160,
		},
		{"fieldname": "line_type", "label": _("Type"), "fieldtype": "Data", "width": 110},
		{"fieldname": "paid_in", "label": _("Paid In"), "fieldtype": "Currency", "width": 110},
		{"fieldname": "withdrawn", "label": _("Withdrawn"), "fieldtype": "Currency", "width": 110},
		{"fieldname": "account_no", "label": _("A/C No."), "fieldtype": "Data", "width": 90},
		{"fieldname": "match_status", "label": _("Outcome"), "fieldtype": "Data", "width": 130},
		{"fieldname": "match_note", "label": _("Note"), "fieldtype": "Data", "width": 280},
		{
			"fieldname": "transaction",
			"label": _("Transaction"),
			"fieldtype": "Link",
			"options": "TukTuk Transaction",
			"width": 120,
		},
		{
			"fieldname": "payout",
			"label": _("Payout"),
			"fieldtype": "Link",
			"options": "TukTuk Payout",
			"width": 110,
		},
		{"fieldname": "recovered", "label": _("Recovered"), "fieldtype": "Check", "width": 90},
	]
