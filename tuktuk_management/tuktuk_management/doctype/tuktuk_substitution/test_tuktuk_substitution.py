# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate, nowdate

from tuktuk_management.tests.factories import make_driver, make_vehicle


class TestTukTukSubstitution(FrappeTestCase):
	def test_a_substitution_is_saved_active_for_its_date_range(self):
		vehicle = make_vehicle()
		regular = make_driver(vehicle.name)
		substitute = make_driver(None)
		doc = frappe.get_doc(
			{
				"doctype": "TukTuk Substitution",
				"vehicle": vehicle.name,
				"regular_driver": regular.name,
				"substitute": substitute.name,
				"from_date": nowdate(),
				"to_date": add_days(nowdate(), 2),
			}
		).insert()
		saved = frappe.get_doc("TukTuk Substitution", doc.name)
		self.assertEqual(saved.status, "Active")
		self.assertEqual((getdate(saved.to_date) - getdate(saved.from_date)).days, 2)
