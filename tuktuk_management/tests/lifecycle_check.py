"""Fixtures for the browser check of onboarding and leaving (scripts/lifecycle_screenshots.mjs).

    bench --site SITE execute tuktuk_management.tests.lifecycle_check.setup > /tmp/lifecycle.json
    ... node scripts/lifecycle_screenshots.mjs --fixtures /tmp/lifecycle.json ...
    bench --site SITE execute tuktuk_management.tests.lifecycle_check.teardown

``setup`` creates a manager user and one driver with every onboarding field filled (made-up
details), a deposit of 3,000 KES (an opening balance), a documented damage charge of 500 KES
taken from it (a submitted credit note), and a payment today; it prints the users, the password
and the settlement the termination preview must show (from ``ledger.termination``), as one
JSON line. Nothing is terminated.
"""

from __future__ import annotations

import json

import frappe
from frappe.utils import add_days, add_years, nowdate

from tuktuk_management import roles
from tuktuk_management.ledger.opening import post_opening_balances
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.termination import preview_termination
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle

PASSWORD = "Tuktuk-Lifecycle-Check-1"
MANAGER = "lifecycle-manager@example.com"
DRIVER_USER = "grace.mwangi@example.com"
VEHICLE = "LIFE-CHECK-07"
DRIVER = "D700707"


def setup() -> None:
	teardown()
	user = frappe.get_doc(
		{
			"doctype": "User",
			"email": MANAGER,
			"first_name": "Fleet",
			"last_name": "Manager",
			"send_welcome_email": 0,
			"new_password": PASSWORD,
			"roles": [{"role": roles.MANAGER}],
		}
	)
	user.flags.ignore_password_policy = True
	user.insert(ignore_permissions=True)
	driver_user = frappe.get_doc(
		{
			"doctype": "User",
			"email": DRIVER_USER,
			"first_name": "Grace",
			"last_name": "Wanjiku Mwangi",
			"send_welcome_email": 0,
			"new_password": PASSWORD,
			"roles": [{"role": roles.DRIVER}],
		}
	)
	driver_user.flags.ignore_password_policy = True
	driver_user.insert(ignore_permissions=True)
	frappe.db.set_default("currency", "KES")  # the desk shows Currency fields in shillings
	if not frappe.db.get_single_value("System Settings", "setup_complete"):
		# A site from `bench new-site` has not run the setup wizard: the desk would show it instead.
		frappe.db.set_single_value("System Settings", "setup_complete", 1)
	vehicle = make_vehicle(tuktuk_id=VEHICLE, mpesa_account="LIFE07")
	driver = make_driver(
		vehicle.name,
		sunny_id=DRIVER,
		driver_name="Grace Wanjiku Mwangi",
		mpesa_number="0712 345 678",
		daily_target=1500,
		fare_percentage=50,
		date_joined=add_days(nowdate(), -90),
		national_id_number="2987 6543",
		date_of_birth=add_years(nowdate(), -31),
		driving_licence_number="DL-4471902",
		licence_expiry=add_years(nowdate(), 2),
		emergency_contact_name="Peter Mwangi",
		emergency_contact_phone="+254 722 000 111",
		deposit_required=3000,
		user=DRIVER_USER,
		status="Inactive",  # Active once the required deposit is held (the activation rule)
	)
	post_opening_balances(
		frappe.db, driver.name, balances_kes={"deposit": 3000}, now=frappe.utils.now_datetime()
	)
	driver.reload()
	driver.status = "Active"
	driver.save()
	charge = frappe.get_doc(
		{
			"doctype": "TukTuk Credit Note",
			"correction_type": "Balance adjustment",
			"driver": driver.name,
			"amount": 500,
			"driver_account": "deposit",
			"direction": "Decrease",
			"counter_account": "revenue",
			"reason_code": "Damage charge",
			"remarks": "Cracked windscreen",
		}
	).insert()
	charge.submit()
	apply_payment(vehicle.mpesa_account, "800")
	preview = preview_termination(
		frappe.db, driver.name, settings=load_settings(frappe.db), now=frappe.utils.now_datetime()
	)
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- fixtures for a browser in another process
	print(
		json.dumps(
			{
				"manager": MANAGER,
				"driver_user": DRIVER_USER,
				"password": PASSWORD,
				"driver": driver.name,
				"vehicle": vehicle.name,
				"expected": preview["settlement"],
			}
		)
	)


def teardown() -> None:
	"""Remove what :func:`setup` made (SQL: the controllers refuse deletes of ledger rows)."""
	drivers = [DRIVER]
	notes = frappe.db.sql_list("select name from `tabTukTuk Credit Note` where driver = %s", DRIVER)
	transactions = frappe.db.sql_list("select name from `tabTukTuk Transaction` where driver = %s", DRIVER)
	closes = frappe.db.sql_list("select name from `tabTukTuk Daily Close` where driver = %s", DRIVER)
	terminations = frappe.db.sql_list("select name from `tabTukTuk Termination` where driver = %s", DRIVER)
	for vouchers in (notes, transactions, closes, terminations, drivers):  # drivers: opening vouchers
		if vouchers:
			frappe.db.sql("delete from `tabTukTuk Ledger Entry` where voucher_no in %s", (vouchers,))
	frappe.db.sql("delete from `tabTukTuk Ledger Entry` where party in %s", (drivers,))
	for doctype in (
		"TukTuk Credit Note",
		"TukTuk Transaction",
		"TukTuk Payout",
		"TukTuk Daily Close",
		"TukTuk Termination",
		"TukTuk Vehicle Assignment",
		"TukTuk Day Off",
	):
		frappe.db.sql(f"delete from `tab{doctype}` where driver in %s", (drivers,))
	frappe.db.sql("delete from `tabTukTuk Driver` where name in %s", (drivers,))
	frappe.db.sql("delete from `tabTukTuk Vehicle` where name = %s", (VEHICLE,))
	for user in (MANAGER, DRIVER_USER):
		if frappe.db.exists("User", user):
			frappe.delete_doc("User", user, force=True, ignore_permissions=True)
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- fixtures for a browser in another process
