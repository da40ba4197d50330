"""The original app's callback URLs as aliases, and the runbook's console calls, in a bench.

The webhooks commit (raw first), so every test uses fresh ids and ``tearDown`` removes what it
created; TukTuk Settings are restored after the class.
"""

from __future__ import annotations

import json

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from tuktuk_management.api import sendpay, tuktuk
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.writer import new_name
from tuktuk_management.legacy import callbacks as legacy
from tuktuk_management.tests.factories import (
	PAYBILL,
	c2b_payload,
	call_webhook,
	callback_log,
	delete_test_rows,
	driver_balances,
	make_driver,
	make_vehicle,
	new_trans_id,
	reply_json,
)

SETTINGS = "TukTuk Settings"
ACK = {"ResultCode": 0, "ResultDesc": "Success"}
SETTINGS_FIELDS = (
	"mpesa_paybill",
	"processing_paused",
	"allowed_callback_ips",
	"global_daily_target",
	"global_fare_percentage",
	"accept_legacy_callback_urls",
)


class TestLegacyCallbackURLs(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.saved_settings = {field: frappe.db.get_single_value(SETTINGS, field) for field in SETTINGS_FIELDS}
		frappe.db.set_single_value(
			SETTINGS,
			{
				"mpesa_paybill": PAYBILL,
				"processing_paused": 0,
				"allowed_callback_ips": "",
				"global_daily_target": 3000,
				"global_fare_percentage": 50,
				"accept_legacy_callback_urls": 1,
			},
		)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.set_single_value(SETTINGS, cls.saved_settings)
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		self.started_at = now_datetime()
		self.vehicle = make_vehicle()
		self.driver = make_driver(self.vehicle.name, daily_target=1000, fare_percentage=50)
		frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()
		frappe.db.set_single_value(SETTINGS, {"accept_legacy_callback_urls": 1, "allowed_callback_ips": ""})
		frappe.db.sql("delete from `tabTukTuk Transaction` where transaction_id like 'LEG%%'")
		delete_test_rows(self.started_at, [self.driver.name], [self.vehicle.name])

	def test_desk_warns_managers_while_the_switch_is_on(self):
		from tuktuk_management.legacy_desk import boot_session

		bootinfo = frappe._dict()
		boot_session(bootinfo)
		self.assertTrue(bootinfo.tuktuk_legacy_callback_urls)
		frappe.db.set_single_value(SETTINGS, "accept_legacy_callback_urls", 0)
		bootinfo = frappe._dict()
		boot_session(bootinfo)
		self.assertIsNone(bootinfo.tuktuk_legacy_callback_urls)
		self.assertIn("tuktuk_management.legacy_desk.boot_session", frappe.get_hooks("boot_session"))

	def test_every_original_url_is_a_guest_post_endpoint(self):
		for method in (
			legacy.PAYMENT_CONFIRMATION,
			legacy.PAYMENT_VALIDATION,
			legacy.MPESA_CONFIRMATION,
			legacy.MPESA_VALIDATION,
			legacy.B2C_RESULT,
			legacy.B2C_TIMEOUT,
		):
			function = frappe.get_attr(method)
			self.assertIn(function, frappe.guest_methods, method)
			self.assertEqual(frappe.allowed_http_methods_for_whitelisted_func[function], ["POST"], method)

	def test_payment_confirmation_applies_without_token_and_records_the_url(self):
		body = c2b_payload(self.vehicle.mpesa_account, "400.00")
		response = call_webhook(tuktuk.payment_confirmation, body, token=None)

		self.assertEqual((response.status_code, reply_json(response)), (200, ACK))
		log = callback_log(trans_id=body["TransID"])
		legacy_url = frappe.db.get_value("TukTuk Callback Log", log.name, "legacy_url")
		self.assertEqual((log.status, legacy_url), ("Processed", legacy.PAYMENT_CONFIRMATION))
		self.assertEqual(json.loads(log.raw_body), body)
		self.assertEqual(driver_balances(self.driver.name)["current_balance"], 200)
		self.assertTrue(check_books(frappe.db).clean)

	def test_switch_off_refuses_and_stores_the_call(self):
		frappe.db.set_single_value(SETTINGS, "accept_legacy_callback_urls", 0)
		frappe.db.commit()
		body = c2b_payload(self.vehicle.mpesa_account, "400.00")
		response = call_webhook(tuktuk.mpesa_confirmation, body, token=None)

		self.assertEqual(response.status_code, 403)
		log = callback_log(endpoint="C2B Confirmation", legacy_url=legacy.MPESA_CONFIRMATION)
		self.assertEqual((log.status, log.error), ("Rejected", legacy.TURNED_OFF))
		self.assertFalse(frappe.db.exists("TukTuk Transaction", body["TransID"]))
		self.assertEqual(driver_balances(self.driver.name)["current_balance"], 0)

	def test_ip_allowlist_and_shortcode_apply(self):
		frappe.db.set_single_value(SETTINGS, "allowed_callback_ips", "10.0.0.0/8")
		frappe.db.commit()
		refused = call_webhook(
			tuktuk.payment_confirmation, c2b_payload(self.vehicle.mpesa_account), token=None
		)
		self.assertEqual(refused.status_code, 403)
		allowed = call_webhook(
			tuktuk.payment_confirmation,
			c2b_payload(self.vehicle.mpesa_account, shortcode="999999"),
			token=None,
			source_ip="10.1.2.3",
		)
		self.assertEqual(allowed.status_code, 200)
		self.assertEqual(callback_log(legacy_url=legacy.PAYMENT_CONFIRMATION).status, "Invalid")
		self.assertEqual(driver_balances(self.driver.name)["current_balance"], 0)

	def test_redelivered_pre_ledger_trans_id_is_a_duplicate(self):
		trans_id = "LEG" + new_trans_id()[3:]
		frappe.db.sql(
			"""insert into `tabTukTuk Transaction` (name, creation, modified, owner, modified_by, transaction_id,
			transaction_type, payment_status, tuktuk, driver, amount, pre_ledger)
			values (%s, now(), now(), 'Administrator', 'Administrator', %s, 'Payment', 'Completed', %s, %s, 300, 1)""",
			(new_name(), trans_id, self.vehicle.name, self.driver.name),
		)
		frappe.db.commit()
		again = call_webhook(
			tuktuk.payment_confirmation,
			c2b_payload(self.vehicle.mpesa_account, "300.00", trans_id=trans_id),
			token=None,
		)
		self.assertEqual((again.status_code, reply_json(again)), (200, ACK))
		self.assertEqual(callback_log(trans_id=trans_id).status, "Duplicate")
		other = call_webhook(
			tuktuk.mpesa_confirmation,
			c2b_payload(self.vehicle.mpesa_account, "999.00", trans_id=trans_id),
			token=None,
		)
		self.assertEqual(other.status_code, 200)
		self.assertEqual(
			callback_log(trans_id=trans_id, legacy_url=legacy.MPESA_CONFIRMATION).status, "Conflict"
		)
		self.assertEqual(frappe.db.count("TukTuk Transaction", {"transaction_id": trans_id}), 1)
		self.assertEqual(driver_balances(self.driver.name)["current_balance"], 0)
		self.assertTrue(check_books(frappe.db).clean, check_books(frappe.db).as_dict())

	def test_validation_aliases(self):
		for endpoint in (tuktuk.payment_validation, tuktuk.mpesa_validation):
			known = call_webhook(endpoint, c2b_payload(self.vehicle.mpesa_account), token=None)
			self.assertEqual(reply_json(known)["ResultCode"], "0")
			unknown = call_webhook(endpoint, c2b_payload("NO-SUCH-ACCOUNT"), token=None)
			self.assertEqual(reply_json(unknown)["ResultCode"], "C2B00012")

	def test_b2c_result_and_timeout_aliases_store_and_acknowledge(self):
		body = {
			"Result": {
				"ResultType": 0,
				"ResultCode": 0,
				"ResultDesc": "The service request is processed successfully.",
				"OriginatorConversationID": "legacy-" + new_trans_id(),
				"ConversationID": "AG_20261121_legacy",
				"TransactionID": new_trans_id(),
			}
		}
		for endpoint, url, kind in (
			(sendpay.b2c_result, legacy.B2C_RESULT, "B2C Result"),
			(sendpay.b2c_timeout, legacy.B2C_TIMEOUT, "B2C Timeout"),
		):
			response = call_webhook(endpoint, body, token=None)
			self.assertEqual(response.status_code, 200)
			log = callback_log(legacy_url=url)
			self.assertEqual(log.endpoint, kind)
		frappe.db.set_single_value(SETTINGS, "accept_legacy_callback_urls", 0)
		frappe.db.commit()
		self.assertEqual(call_webhook(sendpay.b2c_result, body, token=None).status_code, 403)


class TestRunbookConsoleCalls(FrappeTestCase):
	"""The runbook's worked example: cached 2500, ledger 2350 -> discrepancy 150, fixed 2500 -> 2350."""

	def setUp(self):
		self.started_at = now_datetime()
		self.vehicle = make_vehicle()
		self.driver = make_driver(self.vehicle.name, driver_name="John Doe")
		frappe.db.commit()
		from tuktuk_management.ledger.opening import post_opening_balances

		post_opening_balances(frappe.db, self.driver.name, balances_kes={"target": 2350}, now=now_datetime())
		frappe.db.sql(
			"update `tabTukTuk Driver` set current_balance = 2500 where name = %s", self.driver.name
		)
		frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()
		frappe.db.sql(
			"delete from `tabComment` where reference_doctype = 'TukTuk Driver' and reference_name = %s",
			self.driver.name,
		)
		frappe.db.sql(
			"delete from `tabTukTuk Ledger Entry` where voucher_type = 'TukTuk Driver' and voucher_no = %s",
			self.driver.name,
		)
		delete_test_rows(self.started_at, [self.driver.name], [self.vehicle.name])

	def test_reconcile_and_fix_match_the_runbook_example(self):
		result = frappe.call(
			"tuktuk_management.api.tuktuk.reconcile_driver_balance", driver_name=self.driver.name
		)
		self.assertEqual(
			{
				k: result[k]
				for k in ("driver_name", "driver", "old_balance", "calculated_balance", "discrepancy")
			},
			{
				"driver_name": self.driver.name,
				"driver": "John Doe",
				"old_balance": 2500,
				"calculated_balance": 2350,
				"discrepancy": 150,
			},
		)
		self.assertEqual(result["message"], "DISCREPANCY DETECTED: 150 KES extra")

		fixed = frappe.call(
			"tuktuk_management.api.tuktuk.fix_driver_balance", driver_name=self.driver.name, auto_fix=True
		)
		self.assertEqual(
			{
				k: fixed[k]
				for k in ("success", "driver_name", "driver", "old_balance", "new_balance", "adjustment")
			},
			{
				"success": True,
				"driver_name": self.driver.name,
				"driver": "John Doe",
				"old_balance": 2500,
				"new_balance": 2350,
				"adjustment": 150,
			},
		)
		self.assertEqual(fixed["message"], "Balance fixed: 2500 → 2350 (adjusted 150 KES)")
		comments = frappe.get_all(
			"Comment",
			filters={"reference_doctype": "TukTuk Driver", "reference_name": self.driver.name},
			pluck="content",
		)
		self.assertTrue(any("current_balance: old 2500 KES, new 2350 KES" in c for c in comments), comments)

		everyone = frappe.call("tuktuk_management.api.tuktuk.reconcile_all_drivers_balances")
		mine = [row for row in everyone["results"] if row["driver_name"] == self.driver.name]
		self.assertEqual(mine[0]["driver"], "John Doe")
		self.assertEqual((mine[0]["discrepancy"], mine[0]["fixed"]), (0, False))
		self.assertIs(everyone["auto_fixed"], False)

	def test_whitelisted_for_managers_only(self):
		for method in ("reconcile_driver_balance", "fix_driver_balance", "reconcile_all_drivers_balances"):
			self.assertIn(frappe.get_attr(f"tuktuk_management.api.tuktuk.{method}"), frappe.whitelisted)
		user = "legacy-accountant@example.com"
		if not frappe.db.exists("User", user):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": user,
					"first_name": "Acc",
					"roles": [{"role": "TukTuk Accountant"}],
				}
			).insert(ignore_permissions=True)
		frappe.set_user(user)
		in_test, frappe.flags.in_test = frappe.flags.in_test, False  # only_for() lets tests through otherwise
		try:
			with self.assertRaises(frappe.PermissionError):
				tuktuk.fix_driver_balance(self.driver.name, auto_fix=True)
		finally:
			frappe.flags.in_test = in_test
			frappe.set_user("Administrator")
		self.assertEqual(frappe.db.get_value("TukTuk Driver", self.driver.name, "current_balance"), 2500)
