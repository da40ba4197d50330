# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""Driver Roster: Active drivers × the next 7 or 14 dates (or from a chosen date), each cell
Working / Day Off / Requested / Substitute: X / Driving <vehicle> / Standby / Unassigned /
Vehicle <status>, by the daily close's own rule (``ledger/roster.py``, ``ledger/judged.py``).
The report's buttons open the Day Off list (Approve / Reject) and a new Day Off."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import cint, getdate, today

from tuktuk_management import roles
from tuktuk_management.ledger import roster

DAY_CHOICES = (7, 14)


def execute(filters: dict | None = None):
	frappe.only_for(roles.DESK_READERS)
	filters = frappe._dict(filters or {})
	from_date = getdate(filters.get("from_date") or today())
	days = cint(filters.get("days")) or DAY_CHOICES[0]
	if days not in DAY_CHOICES:
		frappe.throw(_("Show 7 or 14 days."))
	rows = roster.roster(
		frappe.db,
		from_date,
		days,
		driver=filters.get("driver") or None,
		vehicle=filters.get("vehicle") or None,
	)
	dates = roster.dates_of(from_date, days)
	data = [
		{
			"driver": row.driver,
			"driver_name": row.driver_name,
			"vehicle": row.vehicle,
			"driver_kind": row.driver_kind,
			**{_key(day): row.cells[day] for day in dates},
		}
		for row in rows
	]
	return columns(dates), data, _message(len(rows))


def columns(dates) -> list[dict]:
	fixed = [
		{
			"fieldname": "driver",
			"label": _("Driver"),
			"fieldtype": "Link",
			"options": "TukTuk Driver",
			"width": 90,
		},
		{"fieldname": "driver_name", "label": _("Name"), "fieldtype": "Data", "width": 140},
		{
			"fieldname": "vehicle",
			"label": _("Vehicle"),
			"fieldtype": "Link",
			"options": "TukTuk Vehicle",
			"width": 110,
		},
		{"fieldname": "driver_kind", "label": _("Kind"), "fieldtype": "Data", "width": 85},
	]
	return fixed + [
		{"fieldname": _key(day), "label": day.strftime("%a %d %b"), "fieldtype": "Data", "width": 176}
		for day in dates
	]


def _key(day) -> str:
	return "d_" + day.strftime("%Y%m%d")


def _message(count: int) -> str | None:
	if count >= roster.DRIVERS_MAX:
		return _("Showing the first {0} drivers; filter by driver or vehicle.").format(roster.DRIVERS_MAX)
	return None
