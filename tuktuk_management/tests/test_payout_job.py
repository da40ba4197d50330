"""The payout job end to end in a bench, against a local Daraja stand-in (the only stand-in the
project allows): C2B webhook → ``send_payout_job`` → Daraja accepts → result webhook → Paid.

The stand-in is a small threaded HTTP server speaking Daraja's documented shapes (OAuth token,
B2C v3 acceptance, duplicate ``500.002.1001`` for a reused OriginatorConversationID); the
client is pointed at it with the ``tuktuk_daraja_base_url`` site-config key.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password, remove_encrypted_password, set_encrypted_password

from tuktuk_management import tasks
from tuktuk_management.api import b2c, c2b
from tuktuk_management.daraja import b2c as daraja_b2c
from tuktuk_management.daraja.client import clear_token_cache
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.tests.factories import (
	PAYBILL,
	c2b_payload,
	call_webhook,
	delete_test_rows,
	driver_balances,
	make_driver,
	make_vehicle,
)

SETTINGS = "TukTuk Settings"
TOKEN = "test-callback-token-" + "z" * 24
PASSWORDS = ("callback_token", "daraja_consumer_key", "daraja_consumer_secret", "b2c_security_credential")


class StandIn(BaseHTTPRequestHandler):
	accepted: dict[str, dict] = {}
	requests: list[dict] = []

	def log_message(self, *args):
		pass

	def reply(self, status: int, body: dict) -> None:
		data = json.dumps(body).encode()
		self.send_response(status)
		self.send_header("Content-Type", "application/json")
		self.send_header("Content-Length", str(len(data)))
		self.end_headers()
		self.wfile.write(data)

	def do_GET(self):
		if self.path.startswith("/oauth/v1/generate?grant_type=client_credentials"):
			return self.reply(200, {"access_token": "bench-token", "expires_in": "3599"})
		return self.reply(404, {})

	def do_POST(self):
		body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
		if self.headers.get("Authorization") != "Bearer bench-token":
			return self.reply(401, {"errorCode": "404.001.04", "errorMessage": "Invalid Access Token"})
		StandIn.requests.append(body)
		originator_id = body["OriginatorConversationID"]
		if originator_id in StandIn.accepted:
			return self.reply(
				500, {"errorCode": "500.002.1001", "errorMessage": "Duplicate OriginatorConversationID"}
			)
		StandIn.accepted[originator_id] = {"conversation_id": f"AG_BENCH_{len(StandIn.accepted):06d}", **body}
		return self.reply(
			200,
			{
				"ConversationID": StandIn.accepted[originator_id]["conversation_id"],
				"OriginatorConversationID": originator_id,
				"ResponseCode": "0",
				"ResponseDescription": "Accept the service request successfully.",
			},
		)


class TestPayoutJob(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
		threading.Thread(target=cls.server.serve_forever, daemon=True).start()
		cls.saved_passwords = {
			field: get_decrypted_password(SETTINGS, SETTINGS, field, raise_exception=False)
			for field in PASSWORDS
		}
		cls.saved = {
			field: frappe.db.get_single_value(SETTINGS, field)
			for field in ("mpesa_paybill", "b2c_shortcode", "b2c_initiator_name", "allowed_callback_ips")
		}
		for field, value in zip(PASSWORDS, (TOKEN, "key", "secret", "c2VjcmV0"), strict=True):
			set_encrypted_password(SETTINGS, SETTINGS, value, field)
		frappe.db.set_single_value(
			SETTINGS,
			{
				"mpesa_paybill": PAYBILL,
				"b2c_shortcode": "600000",
				"b2c_initiator_name": "testapi",
				"allowed_callback_ips": "",
				"instant_payouts_enabled": 1,
				"processing_paused": 0,
			},
		)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		cls.server.shutdown()
		frappe.db.set_single_value(SETTINGS, {k: v or "" for k, v in cls.saved.items()})
		for field, value in cls.saved_passwords.items():
			if value:
				set_encrypted_password(SETTINGS, SETTINGS, value, field)
			else:
				remove_encrypted_password(SETTINGS, SETTINGS, field)
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		clear_token_cache()
		self.started_at = now_datetime()
		self.vehicle = make_vehicle()
		self.driver = make_driver(self.vehicle.name, daily_target=1000, fare_percentage=50)
		frappe.db.commit()
		frappe.local.conf["tuktuk_daraja_base_url"] = f"http://127.0.0.1:{self.server.server_port}"

	def tearDown(self):
		frappe.local.conf.pop("tuktuk_daraja_base_url", None)
		frappe.db.rollback()
		names = frappe.get_all("TukTuk Payout", filters={"driver": self.driver.name}, pluck="name")
		if names:
			frappe.db.sql(
				"delete from `tabTukTuk Ledger Entry` where voucher_type = 'TukTuk Payout' and voucher_no in %s",
				(names,),
			)
		delete_test_rows(self.started_at, [self.driver.name], [self.vehicle.name])

	def test_webhook_job_result_pays_once(self):
		with patch.object(tasks.frappe, "enqueue") as enqueue:
			body = c2b_payload(self.vehicle.mpesa_account, "100.00")
			self.assertEqual(call_webhook(c2b.confirmation, body, token=TOKEN).status_code, 200)
		job = enqueue.call_args.kwargs
		# What the RQ worker runs after the webhook's commit.
		reply = tasks.send_payout_job(job["payout"], mode=job["mode"], manual=job["manual"])
		self.assertEqual(reply["status"], "Sent")
		sent = StandIn.requests[-1]
		self.assertEqual(
			(sent["Amount"], sent["PartyB"], sent["CommandID"]), (50, "254700000000", "BusinessPayment")
		)
		self.assertIn(f"tuktuk_management.api.b2c.result?token={TOKEN}", sent["ResultURL"])
		self.assertIn(f"tuktuk_management.api.b2c.timeout?token={TOKEN}", sent["QueueTimeOutURL"])
		# The job runs again (a redelivered job): nothing is sent twice.
		self.assertEqual(tasks.send_payout_job(job["payout"])["status"], "Sent")
		self.assertEqual(
			sum(1 for r in StandIn.requests if r["OriginatorConversationID"] == f"TTK-{job['payout']}"), 1
		)
		accepted = StandIn.accepted[f"TTK-{job['payout']}"]
		result = daraja_b2c.result_body(
			originator_conversation_id=f"TTK-{job['payout']}",
			conversation_id=accepted["conversation_id"],
			receipt="SBENCH0001",
			amount_kes=50,
		)
		for _ in range(2):
			self.assertEqual(call_webhook(b2c.result, result, token=TOKEN).status_code, 200)
		row = frappe.db.get_value("TukTuk Payout", job["payout"], ["status", "receipt"], as_dict=True)
		self.assertEqual((row.status, row.receipt), ("Paid", "SBENCH0001"))
		self.assertEqual(driver_balances(self.driver.name).payout_pending, 0)
		report = check_books(frappe.db)
		self.assertTrue(report.clean, report.as_dict())

	def test_lost_reply_is_resolved_by_the_duplicate_check(self):
		with patch.object(tasks.frappe, "enqueue") as enqueue:
			call_webhook(c2b.confirmation, c2b_payload(self.vehicle.mpesa_account, "100.00"), token=TOKEN)
		payout = enqueue.call_args.kwargs["payout"]
		# Daraja queued the request but the worker died before saving the reply: row claimed (Unknown).
		StandIn.accepted[f"TTK-{payout}"] = {"conversation_id": "AG_BENCH_LOST"}
		frappe.db.sql(
			"update `tabTukTuk Payout` set status = 'Unknown', attempts = 1, status_checked_at = %s where name = %s",
			(frappe.utils.add_to_date(now_datetime(), minutes=-30), payout),
		)
		frappe.db.commit()
		reply = tasks.send_payout_job(payout, mode="resolve", manual=True)
		self.assertEqual(reply["status"], "Sent")  # the same id again: Daraja said duplicate = accepted
		ids = [
			r["OriginatorConversationID"]
			for r in StandIn.requests
			if payout in r.get("OriginatorConversationID", "")
		]
		self.assertEqual(ids, [f"TTK-{payout}"])
