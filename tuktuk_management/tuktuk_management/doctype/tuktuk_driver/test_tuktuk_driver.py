# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management.ledger.reconcile import driver_balance_discrepancies
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle, new_sunny_id


class TestTukTukDriver(FrappeTestCase):
	def test_sunny_id_is_normalized_and_is_the_name(self):
		sunny_id = new_sunny_id()
		driver = make_driver(sunny_id=f"  {sunny_id.lower()} ")
		self.assertEqual((driver.name, driver.sunny_id), (sunny_id, sunny_id))

	def test_invalid_sunny_id_is_refused(self):
		for sunny_id in ("X123456", "D12345", "D1234567", "D12345A"):
			with self.assertRaises(frappe.ValidationError, msg=sunny_id):
				make_driver(sunny_id=sunny_id)

	def test_sunny_id_cannot_change(self):
		driver = make_driver()
		driver.sunny_id = new_sunny_id()
		with self.assertRaises(frappe.ValidationError):
			driver.save()

	def test_target_and_share_limits(self):
		for values in ({"daily_target": -1}, {"daily_target": 100.5}, {"fare_percentage": 101}):
			with self.assertRaises(frappe.ValidationError, msg=str(values)):
				make_driver(**values)
		driver = make_driver(daily_target=1500, fare_percentage=100)
		self.assertEqual(driver.left_to_target, 1500)

	def test_one_active_driver_per_vehicle(self):
		vehicle = make_vehicle()
		first = make_driver(vehicle.name)
		with self.assertRaises(frappe.ValidationError):
			make_driver(vehicle.name)
		make_driver(vehicle.name, status="Inactive")  # an inactive second driver is fine
		first.status = "Inactive"
		first.save()
		make_driver(vehicle.name)  # the vehicle is free again
		first.reload()
		first.status = "Active"
		with self.assertRaises(frappe.ValidationError):
			first.save()

	def test_new_driver_balances_start_at_zero(self):
		driver = make_driver(current_balance=5000, payout_pending=700, current_deposit_balance=90)
		self.assertEqual(
			frappe.db.get_value(
				"TukTuk Driver", driver.name, ["current_balance", "payout_pending", "current_deposit_balance"]
			),
			(0, 0, 0),
		)

	def test_form_save_after_a_payment_keeps_the_ledger_balance(self):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name, daily_target=1000, fare_percentage=50)
		stale_form = frappe.get_doc("TukTuk Driver", driver.name)  # opened before the payment

		outcome = apply_payment(vehicle.mpesa_account, "400")  # relative SQL: modified unchanged
		self.assertEqual(outcome.status, "Processed")
		stale_form.driver_name = "Renamed In The Form"
		stale_form.current_balance = 0  # what the stale form holds (or a tampered request)
		stale_form.save()

		saved = frappe.db.get_value(
			"TukTuk Driver",
			driver.name,
			["driver_name", "current_balance", "payout_pending", "left_to_target"],
			as_dict=True,
		)
		self.assertEqual(saved.driver_name, "Renamed In The Form")
		self.assertEqual((saved.current_balance, saved.payout_pending, saved.left_to_target), (200, 200, 800))
		self.assertEqual(driver_balance_discrepancies(frappe.db, driver.name), (1, []))

	def test_target_change_refreshes_left_to_target(self):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name, daily_target=1000, fare_percentage=50)
		apply_payment(vehicle.mpesa_account, "400")
		driver.reload()
		driver.daily_target = 500
		driver.save()
		self.assertEqual(driver.left_to_target, 300)
		self.assertEqual(frappe.db.get_value("TukTuk Driver", driver.name, "left_to_target"), 300)

	def test_driver_with_ledger_lines_cannot_be_deleted(self):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name)
		apply_payment(vehicle.mpesa_account, "100")
		with self.assertRaises(frappe.ValidationError):
			frappe.delete_doc("TukTuk Driver", driver.name)
		self.assertTrue(frappe.db.exists("TukTuk Driver", driver.name))

		unused = make_driver()
		frappe.delete_doc("TukTuk Driver", unused.name)
		self.assertFalse(frappe.db.exists("TukTuk Driver", unused.name))
