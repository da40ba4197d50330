# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management.tests.factories import make_driver


class TestTukTukTermination(FrappeTestCase):
	def test_written_only_by_the_termination(self):
		driver = make_driver()
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc({"doctype": "TukTuk Termination", "driver": driver.name}).insert()
