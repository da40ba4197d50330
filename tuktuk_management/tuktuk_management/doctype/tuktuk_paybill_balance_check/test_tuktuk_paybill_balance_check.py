# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase


class TestTukTukPaybillBalanceCheck(FrappeTestCase):
	def test_manual_insert_is_refused(self):
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc({"doctype": "TukTuk Paybill Balance Check", "status": "Matched"}).insert()
