# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle, new_trans_id


class TestTukTukTransaction(FrappeTestCase):
	def test_manual_insert_is_refused(self):
		trans_id = new_trans_id()
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(
				{"doctype": "TukTuk Transaction", "transaction_id": trans_id, "amount": 100}
			).insert()
		self.assertFalse(frappe.db.exists("TukTuk Transaction", trans_id))

	def test_core_written_transaction_cannot_be_edited_or_deleted(self):
		vehicle = make_vehicle()
		make_driver(vehicle.name)
		outcome = apply_payment(vehicle.mpesa_account, "100")
		transaction = frappe.get_doc("TukTuk Transaction", outcome.transaction)
		self.assertEqual(transaction.amount, 100)
		transaction.amount = 1
		with self.assertRaises(frappe.PermissionError):
			transaction.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc("TukTuk Transaction", outcome.transaction)
		self.assertEqual(frappe.db.get_value("TukTuk Transaction", outcome.transaction, "amount"), 100)
