"""A local Daraja stand-in (pytest-httpserver) speaking Daraja's documented shapes.

It is the only stand-in the suite uses: OAuth (``/oauth/v1/generate``), B2C v3 payment
requests with Daraja's duplicate check on ``OriginatorConversationID`` (error
``500.002.1001``), Transaction Status queries and C2B URL registration. Each accepted B2C
request is a payment that *happens* (the money moves) unless a failure is planned for it; the
tests then fetch the result body Daraja would post and deliver it, so "no driver is paid twice"
is checked against what the stand-in paid, not against our own records.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tuktuk_management.daraja import b2c as daraja_b2c
from tuktuk_management.daraja.client import DarajaConfig, clear_token_cache

TOKEN = "standin-token"


@dataclass
class Payment:
	originator_conversation_id: str
	conversation_id: str
	amount_kes: int
	msisdn: str
	result_code: str  # "0": paid
	receipt: str


class DarajaStandIn:
	"""Thread-safe state of the stand-in; see the module docstring."""

	def __init__(self, server: HTTPServer):
		self.server = server
		self.lock = threading.Lock()
		self.payments: dict[str, Payment] = {}
		self.b2c_requests: list[dict] = []
		self.status_queries: dict[str, str] = {}  # query ConversationID -> OriginatorConversationID
		self.status_requests: list[dict] = []
		self.registrations: list[dict] = []
		self.oauth_calls = 0
		self.planned_failures: dict[str, tuple[str, str]] = {}  # originator id -> (code, desc)
		self.behaviours: list[str] = []  # consumed one per B2C request: ok/timeout/502/reject/unavailable
		self.reply_delay_s = 0.0
		self._ids = itertools.count(1)
		server.expect_request("/oauth/v1/generate", method="GET").respond_with_handler(self._oauth)
		server.expect_request("/mpesa/b2c/v3/paymentrequest", method="POST").respond_with_handler(self._b2c)
		server.expect_request("/mpesa/transactionstatus/v1/query", method="POST").respond_with_handler(
			self._status
		)
		server.expect_request("/mpesa/c2b/v2/registerurl", method="POST").respond_with_handler(self._register)

	def config(self, **overrides) -> DarajaConfig:
		values = {
			"consumer_key": "key",
			"consumer_secret": "secret",
			"shortcode": "600000",
			"initiator_name": "testapi",
			"security_credential": "c2VjcmV0",
			"result_url": "https://fleet.example/api/method/tuktuk_management.api.b2c.result?token=t",
			"timeout_url": "https://fleet.example/api/method/tuktuk_management.api.b2c.timeout?token=t",
			"base_url": self.server.url_for("/").rstrip("/"),
		}
		values.update(overrides)
		return DarajaConfig(**values)

	# HTTP handlers ---------------------------------------------------------------------------

	def _json(self, body: dict, status: int = 200) -> Response:
		return Response(json.dumps(body), status=status, content_type="application/json")

	def _authorized(self, request: Request) -> bool:
		return request.headers.get("Authorization") == f"Bearer {TOKEN}"

	def _oauth(self, request: Request) -> Response:
		with self.lock:
			self.oauth_calls += 1
		if request.args.get("grant_type") != "client_credentials" or not request.authorization:
			return self._json(
				{"errorCode": "400.008.01", "errorMessage": "Invalid Authentication passed"}, 400
			)
		if (request.authorization.username, request.authorization.password) != ("key", "secret"):
			return self._json(
				{"errorCode": "400.008.01", "errorMessage": "Invalid Authentication passed"}, 400
			)
		return self._json({"access_token": TOKEN, "expires_in": "3599"})

	def _b2c(self, request: Request) -> Response:
		if not self._authorized(request):
			return self._json({"errorCode": "404.001.04", "errorMessage": "Invalid Access Token"}, 401)
		body = request.get_json()
		with self.lock:
			self.b2c_requests.append(body)
			behaviour = self.behaviours.pop(0) if self.behaviours else "ok"
			originator_id = body["OriginatorConversationID"]
			if behaviour == "unavailable":  # never reached the payment system
				return self._json({}, 503)
			if behaviour == "reject":
				return self._json(
					{
						"requestId": "r",
						"errorCode": "400.002.02",
						"errorMessage": "Bad Request - Invalid PartyB",
					},
					400,
				)
			if originator_id in self.payments:
				return self._json(
					{
						"requestId": "r",
						"errorCode": "500.002.1001",
						"errorMessage": "Duplicate OriginatorConversationID",
					},
					500,
				)
			count = next(self._ids)
			code, _desc = self.planned_failures.get(originator_id, ("0", ""))
			self.payments[originator_id] = Payment(
				originator_conversation_id=originator_id,
				conversation_id=f"AG_20261121_{count:020d}",
				amount_kes=body["Amount"],
				msisdn=body["PartyB"],
				result_code=code,
				receipt=f"SK{count:08d}" if code == "0" else "",
			)
			payment = self.payments[originator_id]
		if behaviour == "timeout":
			time.sleep(self.reply_delay_s)  # longer than the client's read timeout
		if behaviour == "502":
			return self._json({}, 502)
		return self._json(
			{
				"ConversationID": payment.conversation_id,
				"OriginatorConversationID": originator_id,
				"ResponseCode": "0",
				"ResponseDescription": "Accept the service request successfully.",
			}
		)

	def _status(self, request: Request) -> Response:
		if not self._authorized(request):
			return self._json({"errorCode": "404.001.04", "errorMessage": "Invalid Access Token"}, 401)
		body = request.get_json()
		with self.lock:
			self.status_requests.append(body)
			conversation_id = f"AG_STATUS_{next(self._ids):016d}"
			self.status_queries[conversation_id] = body.get("OriginalConversationID") or ""
		return self._json(
			{
				"OriginatorConversationID": f"status-{conversation_id}",
				"ConversationID": conversation_id,
				"ResponseCode": "0",
				"ResponseDescription": "Accept the service request successfully.",
			}
		)

	def _register(self, request: Request) -> Response:
		if not self._authorized(request):
			return self._json({"errorCode": "404.001.04", "errorMessage": "Invalid Access Token"}, 401)
		with self.lock:
			self.registrations.append(request.get_json())
		return self._json(
			{
				"OriginatorCoversationID": "7619-37765134-1",
				"ResponseCode": "0",
				"ResponseDescription": "success",
			}
		)

	# What Daraja would post back ---------------------------------------------------------------

	def result_for(self, originator_id: str) -> dict:
		"""The B2C result body Daraja posts for an accepted request."""
		with self.lock:
			payment = self.payments[originator_id]
		if payment.result_code == "0":
			return daraja_b2c.result_body(
				originator_conversation_id=originator_id,
				conversation_id=payment.conversation_id,
				receipt=payment.receipt,
				amount_kes=payment.amount_kes,
			)
		_code, desc = self.planned_failures[originator_id]
		return daraja_b2c.result_body(
			originator_conversation_id=originator_id,
			conversation_id=payment.conversation_id,
			result_code=int(payment.result_code) if payment.result_code.isdigit() else payment.result_code,
			result_desc=desc,
		)

	def timeout_for(self, originator_id: str) -> dict:
		"""A QueueTimeOutURL body: the Result envelope with a timeout code (outcome unknown)."""
		with self.lock:
			payment = self.payments[originator_id]
		return daraja_b2c.result_body(
			originator_conversation_id=originator_id,
			conversation_id=payment.conversation_id,
			result_code="SVC0403",
			result_desc="The request timed out in the queue.",
		)

	def status_result_for(self, query_conversation_id: str) -> dict:
		"""The Transaction Status result for a query: Completed/Failed, or a not-found error."""
		with self.lock:
			originator_id = self.status_queries[query_conversation_id]
			payment = self.payments.get(originator_id)
		if payment is None:
			return daraja_b2c.status_result_body(
				conversation_id=query_conversation_id, result_code=2032, result_desc="Transaction not found"
			)
		return daraja_b2c.status_result_body(
			conversation_id=query_conversation_id,
			transaction_status="Completed" if payment.result_code == "0" else "Failed",
			receipt=payment.receipt,
			amount_kes=payment.amount_kes,
		)

	def paid_by_payout(self) -> Counter:
		"""How many payments actually happened per payout name (the money that moved)."""
		with self.lock:
			payments = list(self.payments.values())
		counter: Counter = Counter()
		for payment in payments:
			if payment.result_code == "0":
				parsed = daraja_b2c.parse_originator_conversation_id(payment.originator_conversation_id)
				counter[parsed[0]] += 1
		return counter

	def paid_kes_by_payout(self) -> dict[str, int]:
		with self.lock:
			payments = list(self.payments.values())
		totals: dict[str, int] = {}
		for payment in payments:
			if payment.result_code == "0":
				name = daraja_b2c.parse_originator_conversation_id(payment.originator_conversation_id)[0]
				totals[name] = totals.get(name, 0) + payment.amount_kes
		return totals


@pytest.fixture
def daraja():
	"""A fresh threaded stand-in per test; the OAuth token cache is cleared around it."""
	server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
	server.start()
	clear_token_cache()
	try:
		yield DarajaStandIn(server)
	finally:
		clear_token_cache()
		server.clear()
		server.stop()
