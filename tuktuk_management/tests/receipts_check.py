"""Fixtures for the end-to-end receipts check on a bench (scripts/http_receipts_check.sh).

    bench --site SITE execute tuktuk_management.tests.receipts_check.setup --kwargs '{"gateway_url": URL}'
    ... payments posted to the C2B webhook over HTTP, a worker running ...
    bench --site SITE execute tuktuk_management.tests.receipts_check.verify
    bench --site SITE execute tuktuk_management.tests.receipts_check.teardown

``setup`` builds on the broadcast check's fixtures (SMS Settings pointed at the stand-in, SMS on,
no quiet hours, no cap; drivers with their own phone numbers), switches payment receipts on and
instant payouts off (no payout jobs), and prints the callback token, the paybill and, for the two
Active drivers with a vehicle who have not opted out, their vehicle's M-Pesa account and phone.
``verify`` prints the receipts of those drivers (TransID, status, phone). ``teardown`` puts the
two switches back and removes the rows.
"""

from __future__ import annotations

import json

import frappe
from frappe.utils.password import get_decrypted_password

from tuktuk_management.tests import broadcast_check
from tuktuk_management.tests.broadcast_check import keep_until_teardown, kept_for_teardown

SWITCHES = ("sms_receipts_enabled", "instant_payouts_enabled")
SAVED_KEY = "tuktuk_receipts_check_saved_switches"


def setup(gateway_url: str) -> None:
	teardown()
	keep_until_teardown(
		SAVED_KEY, {field: frappe.db.get_single_value("TukTuk Settings", field) for field in SWITCHES}
	)
	broadcast_check.setup(gateway_url)  # prints its own JSON line first
	frappe.db.set_single_value("TukTuk Settings", {"sms_receipts_enabled": 1, "instant_payouts_enabled": 0})
	drivers = frappe.get_all(
		"TukTuk Driver",
		filters={
			"driver_name": ("like", f"{broadcast_check.MARK}%"),
			"status": "Active",
			"sms_opt_out": 0,
			"assigned_tuktuk": ("is", "set"),
		},
		fields=["name", "assigned_tuktuk", "mpesa_number"],
	)
	frappe.db.commit()
	print(
		json.dumps(
			{
				"token": get_decrypted_password(
					"TukTuk Settings", "TukTuk Settings", "callback_token", raise_exception=False
				),
				"paybill": frappe.db.get_single_value("TukTuk Settings", "mpesa_paybill") or "600966",
				"drivers": {
					row.name: {
						"account": frappe.db.get_value(
							"TukTuk Vehicle", row.assigned_tuktuk, "mpesa_account"
						),
						"phone": f"+{row.mpesa_number}",
					}
					for row in drivers
				},
			}
		)
	)


def _drivers() -> list[str]:
	return frappe.get_all(
		"TukTuk Driver", filters={"driver_name": ("like", f"{broadcast_check.MARK}%")}, pluck="name"
	)


def verify() -> None:
	rows = frappe.get_all(
		"TukTuk Message",
		filters={"driver": ("in", _drivers() or ["-"]), "kind": "Receipt"},
		fields=["driver", "transaction", "status", "phone"],
		order_by="transaction",
	)
	print(json.dumps([{key: str(value) for key, value in row.items()} for row in rows]))


def teardown() -> None:
	saved = kept_for_teardown(SAVED_KEY)
	if saved:
		frappe.db.set_single_value("TukTuk Settings", saved)
		frappe.defaults.clear_default(SAVED_KEY)
	drivers = _drivers()
	if drivers:
		transactions = frappe.get_all("TukTuk Transaction", {"driver": ("in", drivers)}, pluck="name")
		if transactions:
			frappe.db.sql("delete from `tabTukTuk Ledger Entry` where voucher_no in %s", (transactions,))
			frappe.db.sql("delete from `tabTukTuk Transaction` where name in %s", (transactions,))
			frappe.db.sql("delete from `tabTukTuk Callback Log` where trans_id in %s", (transactions,))
	frappe.db.commit()
	broadcast_check.teardown()
