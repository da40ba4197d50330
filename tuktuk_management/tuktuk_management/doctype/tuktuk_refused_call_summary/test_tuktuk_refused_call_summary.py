# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password, remove_encrypted_password, set_encrypted_password

from tuktuk_management.api import b2c, c2b
from tuktuk_management.tests.factories import c2b_payload, call_webhook

SETTINGS = "TukTuk Settings"
TOKEN = "test-callback-token-" + "r" * 24
ATTACKER = "203.0.113.77"
BOUND = 5
CALLS = 60


class TestTukTukRefusedCallSummary(FrappeTestCase):
	"""Refused calls through the real endpoint functions: stored up to the bound, counted beyond
	it, one alert. (The 10,000-call flood with genuine callbacks at the same time runs in
	tests/test_callback_guard.py, several processes against MariaDB.)"""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.saved = {
			field: frappe.db.get_single_value(SETTINGS, field)
			for field in ("allowed_callback_ips", "refused_calls_stored_per_minute", "trusted_proxy_count")
		}
		cls.saved_token = get_decrypted_password(SETTINGS, SETTINGS, "callback_token", raise_exception=False)
		set_encrypted_password(SETTINGS, SETTINGS, TOKEN, "callback_token")
		frappe.db.set_single_value(
			SETTINGS,
			{
				"allowed_callback_ips": "196.201.214.0/24",
				"refused_calls_stored_per_minute": BOUND,
				"trusted_proxy_count": 1,
			},
		)
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- test: a refused call commits on its own, as in a request

	@classmethod
	def tearDownClass(cls):
		frappe.db.set_single_value(SETTINGS, cls.saved)
		if cls.saved_token:
			set_encrypted_password(SETTINGS, SETTINGS, cls.saved_token, "callback_token")
		else:
			remove_encrypted_password(SETTINGS, SETTINGS, "callback_token")
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- test: a refused call commits on its own, as in a request
		super().tearDownClass()

	def setUp(self):
		self.started_at = now_datetime()
		self.cleanup()

	def tearDown(self):
		self.cleanup()

	def cleanup(self):
		frappe.db.rollback()
		frappe.db.delete("TukTuk Callback Log", {"source_ip": ATTACKER})
		frappe.db.delete("TukTuk Refused Call Summary", {"source_address": ATTACKER})
		frappe.db.delete("Notification Log", {"document_type": "TukTuk Refused Call Summary"})
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- test: a refused call commits on its own, as in a request

	def test_manual_insert_is_refused(self):
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(
				{"doctype": "TukTuk Refused Call Summary", "name": "x", "source_address": "1.2.3.4"}
			).insert()

	def test_refused_calls_beyond_the_bound_are_counted_and_alert_once(self):
		endpoints = (c2b.confirmation, c2b.validation, b2c.result, b2c.timeout)
		for number in range(CALLS):
			# The right token, an allowed address forged in front of the real one.
			response = call_webhook(
				endpoints[number % len(endpoints)],
				c2b_payload("FORGED"),
				token=TOKEN,
				forwarded_for=f"196.201.214.10, {ATTACKER}",
			)
			self.assertEqual(response.status_code, 403)
		logs = frappe.get_all(
			"TukTuk Callback Log",
			filters={"source_ip": ATTACKER},
			fields=["status", "remote_addr", "forwarded_for"],
		)
		rows = frappe.get_all(
			"TukTuk Refused Call Summary",
			filters={"source_address": ATTACKER},
			fields=["refused_count", "alerted"],
		)
		# A run that crosses a minute boundary has two rows and up to 2 x BOUND logs.
		self.assertIn(len(rows), (1, 2))
		self.assertEqual(sum(row.refused_count for row in rows), CALLS)
		self.assertLessEqual(len(logs), BOUND * len(rows))
		self.assertEqual(
			{(log.status, log.remote_addr, log.forwarded_for) for log in logs},
			{("Rejected", "127.0.0.1", f"196.201.214.10, {ATTACKER}")},
		)
		self.assertEqual(sum(row.alerted for row in rows), 1)
		notifications = frappe.get_all(
			"Notification Log",
			filters={"document_type": "TukTuk Refused Call Summary", "creation": (">=", self.started_at)},
			fields=["for_user", "subject"],
		)
		self.assertTrue(notifications)
		self.assertEqual(len({n.for_user for n in notifications}), len(notifications))  # one per manager
		self.assertIn(ATTACKER, notifications[0].subject)
