# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from tuktuk_management.ledger import receipts
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle

SETTINGS = "TukTuk Settings"


class TestTukTukMessage(FrappeTestCase):
	def setUp(self):
		self.saved = {
			field: frappe.db.get_single_value(SETTINGS, field)
			for field in ("sms_enabled", "sms_receipts_enabled")
		}
		frappe.db.set_single_value(SETTINGS, {"sms_enabled": 1, "sms_receipts_enabled": 1})

	def tearDown(self):
		frappe.db.set_single_value(SETTINGS, self.saved)

	def test_payment_queues_one_receipt_that_cannot_be_edited(self):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name, fare_percentage=50)
		outcome = apply_payment(vehicle.mpesa_account, "100")
		self.assertEqual(outcome.message, f"receipt:{outcome.trans_id}")
		# The payment wrote no message: its own row carries the receipt until the sender makes it.
		self.assertFalse(frappe.db.exists("TukTuk Message", {"idempotency_key": outcome.message}))
		pending, text = frappe.db.get_value(
			"TukTuk Transaction", outcome.trans_id, ["receipt_pending", "receipt_text"]
		)
		self.assertEqual(pending, 1)
		self.assertIn("KES 100 received", text)
		while receipts.materialize_receipts(frappe.db, now=now_datetime()):  # the sender's first step
			pass
		self.assertEqual(frappe.db.get_value("TukTuk Transaction", outcome.trans_id, "receipt_pending"), 0)
		self.assertEqual(frappe.db.count("TukTuk Message", {"idempotency_key": outcome.message}), 1)
		message = frappe.get_doc("TukTuk Message", {"idempotency_key": outcome.message})
		self.assertEqual((message.driver, message.kind, message.status), (driver.name, "Receipt", "Queued"))
		self.assertIn("KES 100 received", message.text)
		self.assertFalse(message.phone)
		message.status = "Sent"
		with self.assertRaises(frappe.PermissionError):
			message.save()

	def test_manual_insert_is_refused(self):
		driver = make_driver()
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(
				{"doctype": "TukTuk Message", "driver": driver.name, "kind": "Broadcast", "text": "x"}
			).insert()
