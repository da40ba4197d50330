# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

"""Balance Reconciliation: each driver's cached balances next to their ledger sums (read-only)."""

from __future__ import annotations

import frappe
from frappe import _

from tuktuk_management.ledger.reconcile import CACHE_FIELDS, driver_cache_rows

ROWS_MAX = 10_000


def execute(filters: dict | None = None) -> tuple[list[dict], list[dict]]:
	"""Columns and rows; filters: ``driver`` (one driver) and ``only_discrepancies`` (Check)."""
	filters = frappe._dict(filters or {})
	rows = []
	for row in driver_cache_rows(frappe.db, filters.get("driver") or None)[:ROWS_MAX]:
		out = {"driver": row["driver"]}
		total_difference = 0
		for field in CACHE_FIELDS:
			out[f"{field}_cached"] = row[field]["cached"]
			out[f"{field}_ledger"] = row[field]["ledger"]
			total_difference += abs(row[field]["cached"] - row[field]["ledger"])
		out["difference"] = total_difference
		out["status"] = _("OK") if total_difference == 0 else _("Drift")
		if not frappe.utils.cint(filters.get("only_discrepancies")) or total_difference:
			rows.append(out)
	return columns(), rows


def columns() -> list[dict]:
	def money(fieldname: str, label: str) -> dict:
		return {"fieldname": fieldname, "label": label, "fieldtype": "Currency", "width": 130}

	return [
		{
			"fieldname": "driver",
			"label": _("Driver"),
			"fieldtype": "Link",
			"options": "TukTuk Driver",
			"width": 120,
		},
		{"fieldname": "status", "label": _("Status"), "fieldtype": "Data", "width": 80},
		money("current_balance_cached", _("Collected (cached)")),
		money("current_balance_ledger", _("Collected (ledger)")),
		money("current_deposit_balance_cached", _("Deposit (cached)")),
		money("current_deposit_balance_ledger", _("Deposit (ledger)")),
		money("payout_pending_cached", _("Payout pending (cached)")),
		money("payout_pending_ledger", _("Payout pending (ledger)")),
		money("difference", _("Total |difference|")),
	]
