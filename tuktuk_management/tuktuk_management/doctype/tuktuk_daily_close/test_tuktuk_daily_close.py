# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from tuktuk_management.ledger.close import close_driver
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle


class TestTukTukDailyClose(FrappeTestCase):
	def test_close_writes_one_record_that_cannot_be_edited_or_deleted(self):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name, daily_target=1000, fare_percentage=50)
		apply_payment(vehicle.mpesa_account, "600")
		today = now_datetime().date()
		result = close_driver(
			frappe.db, driver.name, today, settings=load_settings(frappe.db), now=now_datetime()
		)
		self.assertEqual((result.status, result.collected_kes, result.shortfall_kes), ("Closed", 300, 700))
		close = frappe.get_doc("TukTuk Daily Close", f"{driver.name}-{today.isoformat()}")
		self.assertEqual((close.driver, close.target_met, close.rollover_kes), (driver.name, 0, 700))
		again = close_driver(
			frappe.db, driver.name, today, settings=load_settings(frappe.db), now=now_datetime()
		)
		self.assertEqual(again.status, "Already Closed")
		self.assertEqual(frappe.db.count("TukTuk Daily Close", {"driver": driver.name}), 1)
		close.collected_kes = 0
		with self.assertRaises(frappe.PermissionError):
			close.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc("TukTuk Daily Close", close.name)
		driver.reload()
		self.assertEqual(
			(driver.target_rollover, driver.consecutive_misses, driver.current_balance), (700, 1, 0)
		)
		self.assertEqual(driver.left_to_target, 1700)
		driver.run_method("onload")
		self.assertEqual(driver.get_onload().target_today_kes, 1700)

	def test_manual_insert_is_refused(self):
		driver = make_driver()
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(
				{"doctype": "TukTuk Daily Close", "driver": driver.name, "business_date": "2026-01-01"}
			).insert()
