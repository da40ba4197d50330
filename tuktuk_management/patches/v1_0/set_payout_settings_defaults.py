"""Give existing sites the B2C payout settings' defaults (a fresh site gets them from the JSON).

Only fields with no stored value are set: a value a manager chose is never overwritten.
"""

from __future__ import annotations

import frappe

from tuktuk_management.ledger import doctypes

SETTINGS_DOCTYPE = doctypes.SETTINGS
DEFAULTS = {
	"instant_payouts_enabled": 1,
	"payout_max_attempts": 5,
	"payout_retry_backoff_minutes": 10,
	"b2c_command_id": "BusinessPayment",
}


def execute():
	stored = set(
		frappe.db.sql_list(  # nosemgrep: frappe-using-db-sql -- which fields are stored at all, unset ones included
			"select field from `tabSingles` where doctype = %s and field in %s and coalesce(value, '') != ''",
			(SETTINGS_DOCTYPE, tuple(DEFAULTS)),
		)
	)
	missing = {field: value for field, value in DEFAULTS.items() if field not in stored}
	if missing:
		frappe.db.set_single_value(SETTINGS_DOCTYPE, missing)
