# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management.tests.factories import make_vehicle


class TestTukTukVehicle(FrappeTestCase):
	def test_account_is_trimmed_and_upper_cased(self):
		suffix = frappe.generate_hash(length=6)
		vehicle = make_vehicle(mpesa_account=f"  kba-{suffix} ")
		self.assertEqual(vehicle.mpesa_account, f"KBA-{suffix}".upper())

	def test_invalid_account_is_refused(self):
		for account in ("   ", "A" * 21):
			with self.assertRaises(frappe.ValidationError, msg=repr(account)):
				make_vehicle(mpesa_account=account)

	def test_account_is_unique_case_insensitively(self):
		vehicle = make_vehicle()
		with self.assertRaises(frappe.UniqueValidationError):
			make_vehicle(mpesa_account=vehicle.mpesa_account.lower())
