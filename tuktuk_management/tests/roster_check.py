"""Fixtures for the roster screenshot (scripts/roster_screenshot.mjs).

    bench --site SITE execute tuktuk_management.tests.roster_check.setup > /tmp/roster.json
    ... node scripts/roster_screenshot.mjs --fixtures /tmp/roster.json ...
    bench --site SITE execute tuktuk_management.tests.roster_check.teardown

``setup`` creates a manager user and a small fleet (made-up names) with days off (approved and
requested, through the app's methods), a substitute covering a driver for three days, a driver
without a vehicle and a vehicle in Maintenance, and prints the user, the password and the cells
the roster must show, as one JSON line.
"""

from __future__ import annotations

import json

import frappe
from frappe.utils import add_days, getdate, today

from tuktuk_management import roles
from tuktuk_management.api import days_off
from tuktuk_management.ledger import roster
from tuktuk_management.tests.factories import make_driver, make_vehicle

PASSWORD = "Tuktuk-Roster-Check-1"
MANAGER = "roster-manager@example.com"
FLEET = (  # driver name, vehicle (None: no vehicle), kind
	("Amina Otieno", "RST101", "Regular"),
	("Brian Kamau", "RST102", "Regular"),
	("Caroline Wanjiru", "RST103", "Regular"),
	("David Mwangi", "RST104", "Regular"),
	("Esther Achieng", "RST105", "Regular"),
	("Felix Kiprono", "RST106", "Regular"),
	("Hassan Omar", None, "Substitute"),
	("Irene Chebet", None, "Regular"),
)


def setup() -> None:
	teardown()
	user = frappe.get_doc(
		{
			"doctype": "User",
			"email": MANAGER,
			"first_name": "Roster",
			"last_name": "Manager",
			"send_welcome_email": 0,
			"new_password": PASSWORD,
			"roles": [{"role": roles.MANAGER}],
		}
	)
	user.flags.ignore_password_policy = True
	user.insert(ignore_permissions=True)
	drivers = {}
	for name, vehicle, kind in FLEET:
		if vehicle:
			make_vehicle(tuktuk_id=vehicle, status="Maintenance" if vehicle == "RST106" else "Active")
		drivers[name] = make_driver(vehicle, driver_name=name, driver_kind=kind, sunny_id=None).name
	start = getdate(today())

	def off(name: str, days: int, approve: bool = True) -> None:
		doc = frappe.get_doc(
			{
				"doctype": "TukTuk Day Off",
				"driver": drivers[name],
				"day_off_date": add_days(start, days),
				"reason": "family",
			}
		).insert()
		if approve:
			days_off.approve_day_off(doc.name)

	off("Amina Otieno", 1)
	off("Amina Otieno", 2)
	off("Caroline Wanjiru", 4, approve=False)
	off("David Mwangi", 6)
	off("Esther Achieng", 0)
	off("Esther Achieng", 5, approve=False)
	frappe.get_doc(
		{
			"doctype": "TukTuk Substitution",
			"vehicle": "RST102",
			"regular_driver": drivers["Brian Kamau"],
			"substitute": drivers["Hassan Omar"],
			"from_date": add_days(start, 2),
			"to_date": add_days(start, 4),
			"reason": "upcountry funeral",
		}
	).insert()
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the browser reads these rows
	rows = roster.roster(frappe.db, start, 7, driver=None)
	cells = {
		row.driver_name: [row.cells[day] for day in sorted(row.cells)]
		for row in rows
		if row.driver in drivers.values()
	}
	print(json.dumps({"user": MANAGER, "password": PASSWORD, "from_date": str(start), "cells": cells}))


def teardown() -> None:
	names = frappe.get_all(
		"TukTuk Driver", filters={"driver_name": ("in", [name for name, _v, _k in FLEET])}, pluck="name"
	)
	if names:
		for table, column in (("TukTuk Day Off", "driver"), ("TukTuk Substitution", "regular_driver")):
			frappe.db.sql(f"delete from `tab{table}` where `{column}` in %s", (names,))
		frappe.db.sql("delete from `tabTukTuk Ledger Entry` where party in %s", (names,))
		frappe.db.sql("delete from `tabTukTuk Driver` where name in %s", (names,))
	frappe.db.sql("delete from `tabTukTuk Vehicle` where name in %s", ([v for _n, v, _k in FLEET if v],))
	if frappe.db.exists("User", MANAGER):
		frappe.delete_doc("User", MANAGER, ignore_permissions=True, force=True)
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- leave the site clean for the next run
