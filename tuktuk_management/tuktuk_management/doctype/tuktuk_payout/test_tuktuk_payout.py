# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle


class TestTukTukPayout(FrappeTestCase):
	def test_payment_queues_a_payout_that_cannot_be_edited_or_deleted(self):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name, fare_percentage=50)
		outcome = apply_payment(vehicle.mpesa_account, "100")
		payout = frappe.get_doc("TukTuk Payout", outcome.payout)
		self.assertEqual((payout.driver, payout.amount, payout.status), (driver.name, 50, "Queued"))
		payout.status = "Paid"
		with self.assertRaises(frappe.PermissionError):
			payout.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc("TukTuk Payout", payout.name)
		self.assertEqual(frappe.db.get_value("TukTuk Payout", payout.name, "status"), "Queued")

	def test_manual_insert_is_refused(self):
		driver = make_driver()
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc({"doctype": "TukTuk Payout", "driver": driver.name, "amount": 500}).insert()
		self.assertFalse(frappe.db.exists("TukTuk Payout", {"driver": driver.name}))
