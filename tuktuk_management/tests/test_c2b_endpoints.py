"""The Daraja C2B webhooks end to end in a bench: request -> callback log -> ledger -> reply.

The webhooks commit (raw first), so every test uses fresh ids and ``tearDown`` removes what it
created; TukTuk Settings are restored after the class.
"""

from __future__ import annotations

import json
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password, remove_encrypted_password, set_encrypted_password

from tuktuk_management import stored_callbacks, tasks
from tuktuk_management.api import c2b
from tuktuk_management.api.tuktuk import mpesa_confirmation
from tuktuk_management.daraja import models
from tuktuk_management.ledger import callback_log as log_module
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
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
TOKEN = "test-callback-token-" + "x" * 24
ACK = {"ResultCode": 0, "ResultDesc": "Success"}
SETTINGS_FIELDS = (
	"mpesa_paybill",
	"processing_paused",
	"allowed_callback_ips",
	"global_daily_target",
	"global_fare_percentage",
)


class TestC2BEndpoints(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.saved_settings = {field: frappe.db.get_single_value(SETTINGS, field) for field in SETTINGS_FIELDS}
		cls.saved_token = get_decrypted_password(SETTINGS, SETTINGS, "callback_token", raise_exception=False)
		set_encrypted_password(SETTINGS, SETTINGS, TOKEN, "callback_token")
		frappe.db.set_single_value(
			SETTINGS,
			{
				"mpesa_paybill": PAYBILL,
				"processing_paused": 0,
				"allowed_callback_ips": "",
				"global_daily_target": 3000,
				"global_fare_percentage": 50,
			},
		)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.set_single_value(SETTINGS, cls.saved_settings)
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
		self.drivers, self.vehicles = [self.driver.name], [self.vehicle.name]
		frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()
		frappe.db.set_single_value(SETTINGS, {"processing_paused": 0, "allowed_callback_ips": ""})
		delete_test_rows(self.started_at, self.drivers, self.vehicles)

	def confirm(self, body, token: str | None = TOKEN, **kwargs):
		return call_webhook(c2b.confirmation, body, token=token, **kwargs)

	def validate_call(self, body, token: str | None = TOKEN, **kwargs):
		return call_webhook(c2b.validation, body, token=token, **kwargs)

	def assertAck(self, response):
		self.assertEqual(response.status_code, 200)
		self.assertEqual(response.content_type, "application/json")
		self.assertEqual(reply_json(response), ACK)

	def assertBooksClean(self):
		report = check_books(frappe.db)
		self.assertTrue(report.clean, report.as_dict())

	def transactions(self, trans_id: str) -> list[dict]:
		return frappe.get_all("TukTuk Transaction", filters={"name": trans_id}, fields=["*"])

	# --- confirmation: the good path

	def test_confirmation_with_token_applies_payment_and_acks(self):
		body = c2b_payload(self.vehicle.mpesa_account.lower(), "100.00")
		response = self.confirm(body)

		self.assertAck(response)
		log = callback_log(trans_id=body["TransID"])
		self.assertEqual(
			(log.endpoint, log.status, log.transaction), ("C2B Confirmation", "Processed", body["TransID"])
		)
		self.assertEqual(json.loads(log.raw_body), body)
		(transaction,) = self.transactions(body["TransID"])
		self.assertEqual(transaction.driver, self.driver.name)
		self.assertEqual(transaction.tuktuk, self.vehicle.name)
		self.assertEqual(
			(transaction.amount, transaction.target_contribution, transaction.driver_share), (100, 50, 50)
		)
		lines = frappe.get_all(
			"TukTuk Ledger Entry",
			filters={"voucher_type": "TukTuk Transaction", "voucher_no": body["TransID"]},
			fields=["account", "party", "debit", "credit"],
		)
		self.assertEqual(sum(line.debit for line in lines), 100)
		self.assertEqual(sum(line.credit for line in lines), 100)
		self.assertEqual(
			{(line.account, line.party) for line in lines},
			{("paybill", None), ("target", self.driver.name), ("payable", self.driver.name)},
		)
		balances = driver_balances(self.driver.name)
		self.assertEqual(
			(balances.current_balance, balances.payout_pending, balances.left_to_target), (50, 50, 950)
		)
		payout = frappe.get_all(
			"TukTuk Payout", filters={"transaction": body["TransID"]}, fields=["amount", "status"]
		)
		self.assertEqual([(p.amount, p.status) for p in payout], [(50, "Queued")])
		self.assertBooksClean()

	def test_console_alias_processes_like_the_webhook(self):
		body = c2b_payload(self.vehicle.mpesa_account, "300")
		result = mpesa_confirmation(body)
		self.assertEqual(result, {**ACK, "status": "Processed", "transaction": body["TransID"]})
		self.assertEqual(callback_log(trans_id=body["TransID"]).status, "Processed")
		again = mpesa_confirmation(json.dumps(body))
		self.assertEqual(again["status"], "Duplicate")
		self.assertEqual(driver_balances(self.driver.name).current_balance, 150)
		self.assertBooksClean()

	# --- forged calls

	def test_missing_or_wrong_token_is_refused_and_applies_nothing(self):
		for token in (None, "", "wrong-token", TOKEN[:-1]):
			body = c2b_payload(self.vehicle.mpesa_account)
			response = self.confirm(body, token=token)
			self.assertEqual(response.status_code, 403, token)
			self.assertEqual(reply_json(response), {"ResultCode": 1, "ResultDesc": "Forbidden"})
			log = frappe.get_all(
				"TukTuk Callback Log",
				filters={"creation": (">=", self.started_at), "raw_body": ("like", f"%{body['TransID']}%")},
				fields=["status", "error", "transaction"],
			)
			self.assertEqual(len(log), 1)
			self.assertEqual(log[0].status, "Rejected")
			self.assertIn("token", log[0].error)
			self.assertFalse(self.transactions(body["TransID"]))
		self.assertEqual(driver_balances(self.driver.name).current_balance, 0)

	def test_forged_body_is_stored_truncated(self):
		body = json.dumps(c2b_payload(self.vehicle.mpesa_account, Padding="x" * 50_000))
		response = self.confirm(body, token="nope")
		self.assertEqual(response.status_code, 403)
		log = callback_log(status="Rejected", creation=(">=", self.started_at))
		self.assertEqual(len(log.raw_body), log_module.REJECTED_BODY_CHARS_MAX)

	def test_empty_configured_token_refuses_everything(self):
		remove_encrypted_password(SETTINGS, SETTINGS, "callback_token")
		frappe.db.commit()
		try:
			for token in (None, "", TOKEN):
				response = self.confirm(c2b_payload(self.vehicle.mpesa_account), token=token)
				self.assertEqual(response.status_code, 403)
		finally:
			set_encrypted_password(SETTINGS, SETTINGS, TOKEN, "callback_token")
			frappe.db.commit()
		self.assertEqual(driver_balances(self.driver.name).current_balance, 0)

	def test_ip_allowlist(self):
		frappe.db.set_single_value(SETTINGS, "allowed_callback_ips", "196.201.214.0/24\n196.201.213.114")
		frappe.db.commit()
		refused = c2b_payload(self.vehicle.mpesa_account)
		response = self.confirm(refused, source_ip="10.1.2.3")
		self.assertEqual(response.status_code, 403)
		self.assertEqual(callback_log(source_ip="10.1.2.3").status, "Rejected")
		self.assertFalse(self.transactions(refused["TransID"]))

		allowed = c2b_payload(self.vehicle.mpesa_account)
		self.assertAck(self.confirm(allowed, source_ip="196.201.214.77"))
		self.assertEqual(callback_log(trans_id=allowed["TransID"]).status, "Processed")

	def test_forged_forwarded_for_does_not_pass_the_allowlist(self):
		frappe.db.set_single_value(SETTINGS, "allowed_callback_ips", "196.201.214.0/24")
		frappe.db.commit()
		# The client puts an allowed address first; the proxy appends the real one.
		forged = c2b_payload(self.vehicle.mpesa_account)
		response = self.confirm(forged, forwarded_for="196.201.214.77, 10.1.2.3")
		self.assertEqual(response.status_code, 403)
		log = callback_log(source_ip="10.1.2.3", creation=(">=", self.started_at))
		self.assertEqual(
			(log.status, log.remote_addr, log.forwarded_for),
			("Rejected", "127.0.0.1", "196.201.214.77, 10.1.2.3"),
		)
		self.assertFalse(self.transactions(forged["TransID"]))
		# No proxy trusted: the connection's own address is checked, whatever the header says.
		frappe.db.set_single_value(SETTINGS, "trusted_proxy_count", 0)
		frappe.db.commit()
		try:
			direct = c2b_payload(self.vehicle.mpesa_account)
			self.assertEqual(self.confirm(direct, forwarded_for="196.201.214.77").status_code, 403)
			self.assertAck(self.confirm(direct, forwarded_for="10.9.9.9", remote_addr="196.201.214.5"))
		finally:
			frappe.db.set_single_value(SETTINGS, "trusted_proxy_count", 1)
			frappe.db.commit()
		# Through bench's nginx (the header is the caller's address alone) Daraja still passes.
		genuine = c2b_payload(self.vehicle.mpesa_account)
		self.assertAck(self.confirm(genuine, source_ip="196.201.214.77"))
		log = callback_log(trans_id=genuine["TransID"])
		self.assertEqual(
			(log.status, log.source_ip, log.forwarded_for), ("Processed", "196.201.214.77", "196.201.214.77")
		)

	# --- bodies that are stored and flagged, never applied

	def test_wrong_shortcode_is_invalid_and_not_applied(self):
		body = c2b_payload(self.vehicle.mpesa_account, shortcode="999999")
		self.assertAck(self.confirm(body))
		log = callback_log(trans_id=body["TransID"])
		self.assertEqual(log.status, "Invalid")
		self.assertIn("BusinessShortCode", log.error)
		self.assertFalse(self.transactions(body["TransID"]))

	def test_malformed_json_is_invalid_and_acked(self):
		for raw in ('{"TransID": "ABC123", ', "[1, 2]", "not json at all", ""):
			self.assertAck(self.confirm(raw))
			log = callback_log(endpoint="C2B Confirmation", creation=(">=", self.started_at))
			self.assertEqual(log.status, "Invalid", raw)
			self.assertEqual(log.raw_body or "", raw)
		self.assertEqual(driver_balances(self.driver.name).current_balance, 0)
		self.assertBooksClean()

	def test_oversized_body_is_invalid_and_stored_truncated(self):
		body = json.dumps(
			c2b_payload(self.vehicle.mpesa_account, Padding="x" * models.CALLBACK_BODY_BYTES_MAX)
		)
		self.assertAck(self.confirm(body))
		log = callback_log(endpoint="C2B Confirmation", creation=(">=", self.started_at))
		self.assertEqual(log.status, "Invalid")
		self.assertEqual(len(log.raw_body), models.CALLBACK_BODY_BYTES_MAX)
		self.assertEqual(driver_balances(self.driver.name).current_balance, 0)

	def test_duplicate_delivery_applies_once(self):
		body = c2b_payload(self.vehicle.mpesa_account, "200")
		self.assertAck(self.confirm(body))
		self.assertAck(self.confirm(body))
		logs = frappe.get_all(
			"TukTuk Callback Log", filters={"trans_id": body["TransID"]}, pluck="status", order_by="creation"
		)
		self.assertEqual(logs, ["Processed", "Duplicate"])
		self.assertEqual(len(self.transactions(body["TransID"])), 1)
		self.assertEqual(driver_balances(self.driver.name).current_balance, 100)
		self.assertBooksClean()

	def test_conflicting_redelivery_is_stored_alerted_not_applied(self):
		trans_id = new_trans_id()
		self.assertAck(self.confirm(c2b_payload(self.vehicle.mpesa_account, "200", trans_id=trans_id)))
		self.assertAck(self.confirm(c2b_payload(self.vehicle.mpesa_account, "900", trans_id=trans_id)))
		log = callback_log(trans_id=trans_id, status="Conflict")
		self.assertIn("amount", log.error)
		(transaction,) = self.transactions(trans_id)
		self.assertEqual(transaction.amount, 200)
		self.assertEqual(driver_balances(self.driver.name).current_balance, 100)
		alerts = frappe.get_all(
			"Error Log",
			filters={"method": stored_callbacks.C2B_CONFLICT_TITLE, "creation": (">=", self.started_at)},
			pluck="error",
		)
		self.assertEqual(len(alerts), 1)
		self.assertIn(trans_id, alerts[0])
		self.assertBooksClean()

	def test_unexpected_error_marks_failed_acks_and_job_retries(self):
		body = c2b_payload(self.vehicle.mpesa_account, "100")
		with patch.object(
			stored_callbacks, "process_logged_confirmation", side_effect=RuntimeError("disk on fire")
		):
			response = self.confirm(body)
		self.assertAck(response)
		self.assertNotIn(b"disk on fire", response.get_data())
		log = callback_log(trans_id=body["TransID"])
		self.assertEqual((log.status, log.attempts), ("Failed", 1))
		self.assertIn("RuntimeError: disk on fire", log.error)
		self.assertTrue(
			frappe.db.exists(
				"Error Log",
				{"method": stored_callbacks.C2B_FAILED_TITLE, "creation": (">=", self.started_at)},
			)
		)
		self.assertFalse(self.transactions(body["TransID"]))

		tasks.process_pending_callbacks()
		log = callback_log(log.name)
		self.assertEqual((log.status, log.attempts), ("Processed", 2))
		self.assertEqual(driver_balances(self.driver.name).current_balance, 50)
		self.assertBooksClean()

	def test_a_log_already_applied_is_not_applied_or_re_marked_again(self):
		# The webhook and the job lock the log row first: whoever comes second finds it done.
		body = c2b_payload(self.vehicle.mpesa_account, "100")
		self.assertAck(self.confirm(body))
		log = callback_log(trans_id=body["TransID"])
		logged = stored_callbacks.apply_confirmation_log(
			log.name, log.raw_body, settings=load_settings(frappe.db), now=now_datetime()
		)
		self.assertEqual((logged.status, logged.outcome.transaction), ("Processed", body["TransID"]))
		self.assertTrue(logged.outcome.already_handled)
		again = callback_log(log.name)
		self.assertEqual((again.status, again.attempts), ("Processed", log.attempts))
		self.assertEqual(driver_balances(self.driver.name).current_balance, 50)

	# --- processing paused, then the scheduled job

	def test_paused_processing_stores_then_job_applies_after_unpausing(self):
		frappe.db.set_single_value(SETTINGS, "processing_paused", 1)
		frappe.db.commit()
		body = c2b_payload(self.vehicle.mpesa_account, "100")
		self.assertAck(self.confirm(body))
		log = callback_log(trans_id=body["TransID"])
		self.assertEqual(log.status, "Received")
		self.assertFalse(self.transactions(body["TransID"]))

		self.assertEqual(tasks.process_pending_callbacks(), {})  # still paused: nothing applied
		self.assertEqual(callback_log(log.name).status, "Received")

		frappe.db.set_single_value(SETTINGS, "processing_paused", 0)
		frappe.db.commit()
		counts = tasks.process_pending_callbacks()
		self.assertGreaterEqual(counts.get("Processed", 0), 1)
		log = callback_log(log.name)
		self.assertEqual((log.status, log.transaction), ("Processed", body["TransID"]))
		self.assertEqual(driver_balances(self.driver.name).current_balance, 50)
		self.assertEqual(tasks.process_pending_callbacks().get("Processed", 0), 0)  # applied once
		self.assertBooksClean()

	# --- validation

	def test_validation_accepts_a_known_account(self):
		body = c2b_payload(self.vehicle.mpesa_account, OrgAccountBalance="")
		response = self.validate_call(body)
		self.assertEqual(response.status_code, 200)
		self.assertEqual(reply_json(response), {"ResultCode": "0", "ResultDesc": "Accepted"})
		log = callback_log(trans_id=body["TransID"])
		self.assertEqual((log.endpoint, log.status), ("C2B Validation", "Processed"))
		self.assertFalse(self.transactions(body["TransID"]))

	def test_validation_rejects_unknown_account_and_bad_amount(self):
		cases = (
			(c2b_payload("NO-SUCH-ACCOUNT"), models.INVALID_ACCOUNT),
			(c2b_payload(self.vehicle.mpesa_account, "10.50"), models.INVALID_AMOUNT),
			(c2b_payload(self.vehicle.mpesa_account, "0"), models.INVALID_AMOUNT),
		)
		for body, code in cases:
			response = self.validate_call(body)
			self.assertEqual(response.status_code, 200)
			self.assertEqual(reply_json(response), {"ResultCode": code, "ResultDesc": "Rejected"})
			log = callback_log(trans_id=body["TransID"])
			self.assertEqual(log.status, "Rejected")
			self.assertTrue(log.error)

	def test_validation_refuses_a_forged_call(self):
		response = self.validate_call(c2b_payload(self.vehicle.mpesa_account), token="wrong")
		self.assertEqual(response.status_code, 403)
		self.assertEqual(reply_json(response), {"ResultCode": "C2B00016", "ResultDesc": "Rejected"})
		log = callback_log(endpoint="C2B Validation", creation=(">=", self.started_at))
		self.assertEqual(log.status, "Rejected")
