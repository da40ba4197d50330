"""Fixtures for the browser check of the driver portal (scripts/portal_screenshots.mjs).

    bench --site SITE execute tuktuk_management.tests.portal_check.setup > /tmp/portal.json
    ... node scripts/portal_screenshots.mjs --fixtures /tmp/portal.json ...
    bench --site SITE execute tuktuk_management.tests.portal_check.teardown

``setup`` creates a manager and two driver users, their drivers with a few payments, switches
SMS on (``teardown`` puts the switches back), and prints the users, the password and the figures the portal must show, computed from
the ledger (target, deposit and payable sums), as one JSON line.
"""

from __future__ import annotations

import json

import frappe

from tuktuk_management import roles
from tuktuk_management.ledger import messages
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.split import effective_target_kes
from tuktuk_management.tests.broadcast_check import keep_until_teardown, kept_for_teardown
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle

PASSWORD = "Tuktuk-Portal-Check-1"
SAVED_KEY = "tuktuk_portal_check_saved_switches"
MARK = "PORTAL-CHECK"
USERS = {
	"manager": ("portal-manager@example.com", roles.MANAGER),
	"driver": ("portal-driver@example.com", roles.DRIVER),
	"other": ("portal-driver2@example.com", roles.DRIVER),
}


def _ledger_kes(driver: str, account: str) -> int:
	value = frappe.db.sql(
		"""select coalesce(sum(credit) - sum(debit), 0) from `tabTukTuk Ledger Entry`
		where party_type = 'TukTuk Driver' and party = %s and account = %s""",
		(driver, account),
	)[0][0]
	return int(value)


def setup() -> None:
	teardown()
	for email, role in USERS.values():
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": email.split("@")[0],
				"send_welcome_email": 0,
				"new_password": PASSWORD,
				"roles": [{"role": role}],
			}
		)
		user.flags.ignore_password_policy = True
		user.insert(ignore_permissions=True)
	keep_until_teardown(
		SAVED_KEY,
		{
			field: frappe.db.get_single_value("TukTuk Settings", field)
			for field in ("sms_enabled", "sms_receipts_enabled")
		},
	)
	frappe.db.set_single_value("TukTuk Settings", {"sms_enabled": 1, "sms_receipts_enabled": 1})
	drivers = {}
	for key, amounts in (("driver", ("700", "500", "300")), ("other", ("900",))):
		vehicle = make_vehicle(tuktuk_id=f"{MARK}-{key}".upper())
		driver = make_driver(
			vehicle.name, user=USERS[key][0], fare_percentage=50, daily_target=2000, driver_name=MARK
		)
		for amount in amounts:
			apply_payment(vehicle.mpesa_account, amount)
		drivers[key] = driver.name
	frappe.db.commit()
	settings = load_settings(frappe.db)
	row = frappe.db.get_value(
		"TukTuk Driver",
		drivers["driver"],
		["daily_target", "target_rollover", "consecutive_misses"],
		as_dict=True,
	)
	target_kes = effective_target_kes(
		int(row.daily_target), settings.global_daily_target_kes, int(row.target_rollover)
	)
	collected_kes = _ledger_kes(drivers["driver"], "target")
	print(
		json.dumps(
			{
				"password": PASSWORD,
				"driver_user": USERS["driver"][0],
				"manager_user": USERS["manager"][0],
				"driver": drivers["driver"],
				"other_driver": drivers["other"],
				"expected": {
					"collected_kes": collected_kes,
					"target_kes": target_kes,
					"left_kes": max(0, target_kes - collected_kes),
					"rollover_kes": int(row.target_rollover or 0),
					"consecutive_misses": int(row.consecutive_misses or 0),
					"deposit_kes": _ledger_kes(drivers["driver"], "deposit"),
					"payable_kes": _ledger_kes(drivers["driver"], "payable"),
				},
				"broadcast_count": len(messages.broadcast_recipients(frappe.db)),
			}
		)
	)


def teardown() -> None:
	drivers = frappe.get_all("TukTuk Driver", filters={"driver_name": MARK}, pluck="name")
	if drivers:
		transactions = frappe.get_all("TukTuk Transaction", filters={"driver": ("in", drivers)}, pluck="name")
		frappe.db.sql("delete from `tabTukTuk Ledger Entry` where party in %s", (drivers,))
		if transactions:
			frappe.db.sql("delete from `tabTukTuk Ledger Entry` where voucher_no in %s", (transactions,))
			frappe.db.sql("delete from `tabTukTuk Transaction` where name in %s", (transactions,))
		for table in ("TukTuk Message", "TukTuk Payout"):
			frappe.db.sql(f"delete from `tab{table}` where driver in %s", (drivers,))
		frappe.db.sql("delete from `tabTukTuk Driver` where name in %s", (drivers,))
	frappe.db.sql(
		"delete from `tabTukTuk Message` where kind = 'Broadcast' and text like %s", ("Office closed%",)
	)
	frappe.db.sql("delete from `tabTukTuk Vehicle` where name like %s", (f"{MARK}%",))
	for email, _role in USERS.values():
		if frappe.db.exists("User", email):
			frappe.delete_doc("User", email, ignore_permissions=True, force=True)
	saved = kept_for_teardown(SAVED_KEY)
	if saved:  # the SMS switches as they were before setup
		frappe.db.set_single_value("TukTuk Settings", saved)
		frappe.defaults.clear_default(SAVED_KEY)
	frappe.db.commit()
