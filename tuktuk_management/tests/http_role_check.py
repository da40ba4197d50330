"""Fixtures for the over-HTTP role check in a bench (see docs/operations.md, "Roles").

    bench --site SITE execute tuktuk_management.tests.http_role_check.setup
    ... curl as each user (password HTTP_PASSWORD) ...
    bench --site SITE execute tuktuk_management.tests.http_role_check.teardown

``setup`` creates a manager, an accountant and two driver users, two drivers (each linked to
one user) with one payment each, and returns their names and the callback token as JSON.
"""

from __future__ import annotations

import frappe
from frappe.utils.password import get_decrypted_password

from tuktuk_management import roles
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle

HTTP_PASSWORD = "Tuktuk-Http-Check-1"
USERS = {
	"manager": ("http-manager@example.com", roles.MANAGER),
	"accountant": ("http-accountant@example.com", roles.ACCOUNTANT),
	"driver": ("http-driver@example.com", roles.DRIVER),
	"other_driver": ("http-driver2@example.com", roles.DRIVER),
}
MARK = "HTTP-CHECK"


def setup() -> dict:
	teardown()
	for email, role in USERS.values():
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": email.split("@")[0],
				"send_welcome_email": 0,
				"new_password": HTTP_PASSWORD,
				"roles": [{"role": role}],
			}
		)
		user.flags.ignore_password_policy = True
		user.insert(ignore_permissions=True)
	result = {"users": {key: email for key, (email, _role) in USERS.items()}, "drivers": {}, "payouts": {}}
	for key in ("driver", "other_driver"):
		vehicle = make_vehicle(tuktuk_id=f"{MARK}-{key}".upper().replace("_", "-"))
		driver = make_driver(vehicle.name, user=USERS[key][0], fare_percentage=50, driver_name=MARK)
		outcome = apply_payment(vehicle.mpesa_account, "100")
		result["drivers"][key] = driver.name
		result["payouts"][key] = outcome.payout
	result["callback_token"] = get_decrypted_password(
		"TukTuk Settings", "TukTuk Settings", "callback_token", raise_exception=False
	)
	frappe.db.commit()
	return result


def teardown() -> None:
	drivers = frappe.get_all("TukTuk Driver", filters={"driver_name": MARK}, pluck="name")
	if drivers:
		transactions = frappe.get_all("TukTuk Transaction", filters={"driver": ("in", drivers)}, pluck="name")
		payouts = frappe.get_all("TukTuk Payout", filters={"driver": ("in", drivers)}, pluck="name")
		frappe.db.sql("delete from `tabTukTuk Ledger Entry` where party in %s", (drivers,))
		if payouts:
			frappe.db.sql("delete from `tabTukTuk Ledger Entry` where voucher_no in %s", (payouts,))
		if transactions:
			frappe.db.sql("delete from `tabTukTuk Ledger Entry` where voucher_no in %s", (transactions,))
			frappe.db.sql("delete from `tabTukTuk Transaction` where name in %s", (transactions,))
		frappe.db.sql("delete from `tabTukTuk Payout` where driver in %s", (drivers,))
		frappe.db.sql("delete from `tabTukTuk Driver` where name in %s", (drivers,))
	frappe.db.sql("delete from `tabTukTuk Vehicle` where name like %s", (f"{MARK}%",))
	for email, _role in USERS.values():
		if frappe.db.exists("User", email):
			frappe.delete_doc("User", email, ignore_permissions=True, force=True)
	frappe.db.commit()
