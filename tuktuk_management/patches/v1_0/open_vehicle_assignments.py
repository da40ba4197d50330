"""Start the vehicle assignment history on sites installed before it: every driver assigned to a
vehicle gets an open TukTuk Vehicle Assignment from now (earlier periods were not recorded)."""

import frappe
from frappe.utils import now_datetime

from tuktuk_management.ledger.substitutions import record_assignment


def execute():
	now = now_datetime()
	for driver in frappe.get_all(
		"TukTuk Driver", filters={"assigned_tuktuk": ["is", "set"]}, fields=["name", "assigned_tuktuk"]
	):
		record_assignment(frappe.db, driver.name, driver.assigned_tuktuk, now=now)
