# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from tuktuk_management.ledger.callback_log import C2B_CONFIRMATION, store_callback


class TestTukTukCallbackLog(FrappeTestCase):
	def test_manual_insert_is_refused(self):
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(
				{"doctype": "TukTuk Callback Log", "endpoint": C2B_CONFIRMATION, "raw_body": "{}"}
			).insert()

	def test_stored_log_cannot_be_edited_or_deleted(self):
		name = store_callback(
			frappe.db,
			endpoint=C2B_CONFIRMATION,
			raw_body=b'{"TransID": "ABC123XYZ"}',
			received_at=now_datetime(),
		)
		log = frappe.get_doc("TukTuk Callback Log", name)
		self.assertEqual((log.status, log.trans_id), ("Received", "ABC123XYZ"))
		log.status = "Processed"
		with self.assertRaises(frappe.PermissionError):
			log.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc("TukTuk Callback Log", name)
		self.assertEqual(frappe.db.get_value("TukTuk Callback Log", name, "status"), "Received")
