"""The Daraja B2C result/timeout webhooks and the payout actions in a bench.

The webhooks commit (raw first), so every test uses fresh ids and ``tearDown`` removes what it
created; TukTuk Settings are restored after the class. Sending to Daraja is not exercised here
(the framework-free suite does it against a Daraja stand-in): a payout is moved to Sent with the
ConversationID Daraja would have returned, then Daraja-shaped results are posted.
"""

from __future__ import annotations

import json
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_to_date, now_datetime
from frappe.utils.password import get_decrypted_password, remove_encrypted_password, set_encrypted_password

from tuktuk_management import tasks
from tuktuk_management.api import b2c, payouts
from tuktuk_management.daraja import b2c as daraja_b2c
from tuktuk_management.ledger.callback_log import store_callback
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.tests.factories import (
	PAYBILL,
	c2b_payload,
	call_webhook,
	callback_log,
	delete_test_rows,
	driver_balances,
	make_driver,
	make_vehicle,
	reply_json,
)

SETTINGS = "TukTuk Settings"
TOKEN = "test-callback-token-" + "y" * 24
ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}


class TestB2CEndpoints(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.saved = {
			field: frappe.db.get_single_value(SETTINGS, field)
			for field in (
				"mpesa_paybill",
				"processing_paused",
				"allowed_callback_ips",
				"instant_payouts_enabled",
			)
		}
		if cls.saved["instant_payouts_enabled"] in (None, ""):
			cls.saved["instant_payouts_enabled"] = 1  # the field's default: never restore "unset" as 0
		cls.saved_token = get_decrypted_password(SETTINGS, SETTINGS, "callback_token", raise_exception=False)
		set_encrypted_password(SETTINGS, SETTINGS, TOKEN, "callback_token")
		frappe.db.set_single_value(
			SETTINGS,
			{
				"mpesa_paybill": PAYBILL,
				"processing_paused": 0,
				"allowed_callback_ips": "",
				"instant_payouts_enabled": 1,
			},
		)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.set_single_value(SETTINGS, cls.saved)
		if cls.saved_token:
			set_encrypted_password(SETTINGS, SETTINGS, cls.saved_token, "callback_token")
		else:
			remove_encrypted_password(SETTINGS, SETTINGS, "callback_token")
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		self.started_at = now_datetime()
		self.vehicle = make_vehicle()
		self.driver = make_driver(self.vehicle.name, daily_target=1000, fare_percentage=50)
		frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()
		frappe.db.set_single_value(SETTINGS, {"allowed_callback_ips": "", "instant_payouts_enabled": 1})
		payout_names = frappe.get_all("TukTuk Payout", filters={"driver": self.driver.name}, pluck="name")
		if payout_names:
			frappe.db.sql(
				"delete from `tabTukTuk Ledger Entry` where voucher_type = 'TukTuk Payout' and voucher_no in %s",
				(payout_names,),
			)
		frappe.db.sql(
			"delete from `tabComment` where reference_doctype = 'TukTuk Payout' and creation >= %s",
			self.started_at,
		)
		delete_test_rows(self.started_at, [self.driver.name], [self.vehicle.name])

	def pay(self, amount: str = "100.00") -> str:
		"""A C2B payment through the real confirmation webhook; the payout it queued (Sent)."""
		from tuktuk_management.api import c2b

		with patch.object(tasks.frappe, "enqueue") as enqueue:
			body = c2b_payload(self.vehicle.mpesa_account, amount)
			self.assertEqual(call_webhook(c2b.confirmation, body, token=TOKEN).status_code, 200)
		payout = frappe.db.get_value("TukTuk Payout", {"transaction": body["TransID"]}, "name")
		# The webhook asked for the payout to be sent by a job after its commit, never inline.
		enqueue.assert_called_once()
		kwargs = enqueue.call_args.kwargs
		self.assertEqual(enqueue.call_args.args, ("tuktuk_management.tasks.send_payout_job",))
		self.assertTrue(kwargs["enqueue_after_commit"])
		self.assertEqual((kwargs["payout"], kwargs["job_id"]), (payout, f"tuktuk_payout_{payout}"))
		# What the job records when Daraja accepts the request.
		frappe.db.sql(
			"update `tabTukTuk Payout` set status = 'Sent', conversation_id = %s, attempts = 1 where name = %s",
			(f"AG_TEST_{payout}", payout),
		)
		frappe.db.commit()
		return payout

	def result(self, body, token: str | None = TOKEN, **kwargs):
		return call_webhook(b2c.result, body, token=token, **kwargs)

	def success(self, payout: str, receipt: str = "SK12345678") -> dict:
		amount = frappe.db.get_value("TukTuk Payout", payout, "amount")
		return daraja_b2c.result_body(
			originator_conversation_id=f"TTK-{payout}",
			conversation_id=f"AG_TEST_{payout}",
			receipt=receipt,
			amount_kes=int(amount),
		)

	def assertBooksClean(self):
		report = check_books(frappe.db)
		self.assertTrue(report.clean, report.as_dict())

	def test_success_result_pays_once(self):
		payout = self.pay()
		self.assertEqual(driver_balances(self.driver.name).payout_pending, 50)
		response = self.result(self.success(payout))
		self.assertEqual((response.status_code, reply_json(response)), (200, ACK))
		row = frappe.db.get_value("TukTuk Payout", payout, ["status", "receipt", "result_code"], as_dict=True)
		self.assertEqual((row.status, row.receipt, row.result_code), ("Paid", "SK12345678", "0"))
		self.assertEqual(driver_balances(self.driver.name).payout_pending, 0)
		log = callback_log(endpoint="B2C Result", creation=(">=", self.started_at))
		self.assertEqual((log.status, log.trans_id), ("Processed", payout))
		# Daraja delivers it again: acknowledged, nothing changes.
		self.assertEqual(self.result(self.success(payout)).status_code, 200)
		self.assertEqual(
			callback_log(endpoint="B2C Result", creation=(">=", self.started_at)).status, "Duplicate"
		)
		lines = frappe.get_all(
			"TukTuk Ledger Entry", filters={"voucher_type": "TukTuk Payout", "voucher_no": payout}
		)
		self.assertEqual(len(lines), 2)
		self.assertEqual(driver_balances(self.driver.name).payout_pending, 0)
		self.assertBooksClean()

	def test_failure_result_keeps_share_payable(self):
		payout = self.pay()
		body = daraja_b2c.result_body(
			originator_conversation_id=f"TTK-{payout}",
			conversation_id=f"AG_TEST_{payout}",
			result_code=2001,
			result_desc="The initiator information is invalid.",
		)
		self.assertEqual(self.result(body).status_code, 200)
		row = frappe.db.get_value(
			"TukTuk Payout", payout, ["status", "result_code", "final_failure"], as_dict=True
		)
		self.assertEqual((row.status, row.result_code, row.final_failure), ("Failed", "2001", 1))
		self.assertEqual(driver_balances(self.driver.name).payout_pending, 50)
		self.assertBooksClean()

	def test_timeout_makes_the_payout_unknown(self):
		payout = self.pay()
		body = daraja_b2c.result_body(
			originator_conversation_id=f"TTK-{payout}",
			conversation_id=f"AG_TEST_{payout}",
			result_code="SVC0403",
			result_desc="timed out",
		)
		response = call_webhook(b2c.timeout, body, token=TOKEN)
		self.assertEqual((response.status_code, reply_json(response)), (200, ACK))
		self.assertEqual(frappe.db.get_value("TukTuk Payout", payout, "status"), "Unknown")
		self.assertEqual(
			callback_log(endpoint="B2C Timeout", creation=(">=", self.started_at)).status, "Processed"
		)

	def test_forged_results_are_refused_and_change_nothing(self):
		payout = self.pay()
		for token in (None, "", "wrong", TOKEN[:-1]):
			response = self.result(self.success(payout), token=token)
			self.assertEqual(response.status_code, 403, token)
			self.assertEqual(reply_json(response), {"ResultCode": 1, "ResultDesc": "Forbidden"})
			self.assertEqual(
				callback_log(endpoint="B2C Result", creation=(">=", self.started_at)).status, "Rejected"
			)
		frappe.db.set_single_value(SETTINGS, "allowed_callback_ips", "196.201.214.0/24")
		frappe.db.commit()
		self.assertEqual(self.result(self.success(payout), source_ip="10.0.0.9").status_code, 403)
		self.assertEqual(frappe.db.get_value("TukTuk Payout", payout, "status"), "Sent")
		self.assertEqual(driver_balances(self.driver.name).payout_pending, 50)
		# A well-signed body naming no payout of ours is stored Invalid and changes nothing.
		bogus = daraja_b2c.result_body(
			originator_conversation_id="TTK-zzzzzzzzzz", conversation_id="AG_X", receipt="R1"
		)
		self.assertEqual(self.result(bogus, source_ip="196.201.214.9").status_code, 200)
		self.assertEqual(
			callback_log(endpoint="B2C Result", creation=(">=", self.started_at)).status, "Invalid"
		)
		self.assertEqual(frappe.db.get_value("TukTuk Payout", payout, "status"), "Sent")
		self.assertBooksClean()

	def test_instant_payouts_off_queues_nothing(self):
		from tuktuk_management.api import c2b

		frappe.db.set_single_value(SETTINGS, "instant_payouts_enabled", 0)
		frappe.db.commit()
		with patch.object(tasks.frappe, "enqueue") as enqueue:
			body = c2b_payload(self.vehicle.mpesa_account, "100.00")
			call_webhook(c2b.confirmation, body, token=TOKEN)
		enqueue.assert_not_called()
		self.assertFalse(frappe.db.exists("TukTuk Payout", {"transaction": body["TransID"]}))
		self.assertEqual(driver_balances(self.driver.name).payout_pending, 50)

	def test_manager_cancel_and_retry(self):
		payout = self.pay()
		frappe.db.sql("update `tabTukTuk Payout` set status = 'Failed' where name = %s", payout)
		with (
			patch.object(payouts, "daraja_client", return_value=object()),
			patch.object(tasks.frappe, "enqueue") as enqueue,
		):
			reply = payouts.retry_payout(payout)
		self.assertEqual(reply, {"payout": payout, "status": "Failed", "action": "retry"})
		self.assertEqual(enqueue.call_args.kwargs["manual"], True)
		with self.assertRaises(frappe.ValidationError):
			payouts.cancel_payout(payout, "  ")
		reply = payouts.cancel_payout(payout, "settled in cash")
		self.assertEqual((reply["status"], reply["payout_pending_kes"]), ("Cancelled", 50))
		with self.assertRaises(frappe.ValidationError):
			payouts.cancel_payout(payout, "again")
		with self.assertRaises(frappe.ValidationError):
			payouts.retry_payout(payout)

	def test_sent_payout_cannot_be_cancelled(self):
		payout = self.pay()
		with self.assertRaises(frappe.ValidationError) as raised:
			payouts.cancel_payout(payout, "changed my mind")
		self.assertIn("Daraja may still pay it", str(raised.exception))

	def test_scheduled_job_applies_results_left_behind(self):
		payout = self.pay()
		log = store_callback(
			frappe.db,
			endpoint="B2C Result",
			raw_body=json.dumps(self.success(payout)),
			received_at=now_datetime(),
		)
		frappe.db.commit()
		with patch.object(tasks, "daraja_client", return_value=None):
			counts = tasks.process_payouts()
		self.assertEqual(counts.get("result:Processed"), 1)
		self.assertEqual(frappe.db.get_value("TukTuk Payout", payout, "status"), "Paid")
		self.assertEqual(callback_log(log).status, "Processed")
		self.assertBooksClean()

	def test_stuck_payouts_alert(self):
		payout = self.pay()
		frappe.db.sql(
			"update `tabTukTuk Payout` set last_attempt_at = %s where name = %s",
			(add_to_date(now_datetime(), hours=-2), payout),
		)
		stuck = tasks.alert_stuck_payouts()
		self.assertIn(payout, stuck)
		html = frappe.render_template(
			"templates/emails/tuktuk_stuck_payouts.html",
			{
				"payouts": [
					{
						"name": payout,
						"driver": self.driver.name,
						"amount_kes": 50,
						"status": "Sent",
						"since": "x",
						"last_error": "",
					}
				],
				"site_url": "https://x",
				"count": 1,
			},
		)
		self.assertIn(payout, html)
		self.assertNotIn("254700000000", html)
		frappe.db.rollback()
