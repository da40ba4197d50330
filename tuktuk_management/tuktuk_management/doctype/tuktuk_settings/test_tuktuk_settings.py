# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management.tests.factories import make_driver


class TestTukTukSettings(FrappeTestCase):
	def settings(self, **values):
		doc = frappe.get_doc("TukTuk Settings")
		doc.update(values)
		return doc

	def test_invalid_values_are_refused(self):
		cases = (
			{"global_fare_percentage": 100.5},
			{"global_fare_percentage": -1},
			{"global_daily_target": -10},
			{"global_daily_target": 2999.5},
			{"mpesa_paybill": "60O966"},
			{"operating_timezone": "Mars/Olympus_Mons"},
			{"operating_timezone": "../etc/passwd"},
			{"allowed_callback_ips": "196.201.214.0/24\nnot-an-ip"},
		)
		for values in cases:
			with self.assertRaises(frappe.ValidationError, msg=str(values)):
				self.settings(**values).save()

	def test_valid_values_are_saved_normalized(self):
		self.settings(
			mpesa_paybill=" 600966 ",
			operating_timezone="Africa/Kampala",
			allowed_callback_ips="196.201.214.0/24, 196.201.213.114",
			global_fare_percentage=60,
		).save()
		self.assertEqual(frappe.db.get_single_value("TukTuk Settings", "mpesa_paybill"), "600966")
		self.assertEqual(
			frappe.db.get_single_value("TukTuk Settings", "operating_timezone"), "Africa/Kampala"
		)

	def test_new_global_target_refreshes_left_to_target(self):
		self.settings(global_daily_target=3000).save()
		uses_global = make_driver(daily_target=0)
		own_target = make_driver(daily_target=1200)
		self.assertEqual(frappe.db.get_value("TukTuk Driver", uses_global.name, "left_to_target"), 3000)

		self.settings(global_daily_target=2000).save()
		self.assertEqual(frappe.db.get_value("TukTuk Driver", uses_global.name, "left_to_target"), 2000)
		self.assertEqual(frappe.db.get_value("TukTuk Driver", own_target.name, "left_to_target"), 1200)
