"""Keep the scheduler of existing sites active (see ``tuktuk_management.health.keep_site_active``):
switch TukTuk Settings ``keep_scheduler_active`` on where it was never set, and record the
first Activity Log entry if the site has none recent."""

from __future__ import annotations

import frappe

from tuktuk_management.health import keep_site_active
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE


def execute():
	stored = frappe.db.sql(  # nosemgrep: frappe-using-db-sql -- the stored value, not the doc's default
		"select value from `tabSingles` where doctype = %s and field = 'keep_scheduler_active'",
		(SETTINGS_DOCTYPE,),
	)
	if not stored or stored[0][0] in (None, ""):
		frappe.db.set_single_value(SETTINGS_DOCTYPE, "keep_scheduler_active", 1)
	keep_site_active()
