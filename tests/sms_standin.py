"""A local stand-in for an HTTP SMS gateway (pytest-httpserver), recording every request.

It answers like Africa's Talking's messaging endpoint (``POST /version1/messaging``, form
parameters ``username``, ``to``, ``message``, header ``apiKey``; HTTP 201 with a JSON
``SMSMessageData`` reply) unless a failure is planned: ``behaviours`` is consumed one per request
("ok", "refused" for a recipient refused in a 201 reply, or an HTTP status such as "500"). Tests count what the gateway received, not our rows.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tuktuk_management.ledger.sms import HttpGateway

PATH = "/version1/messaging"
API_KEY = "standin-api-key"


@dataclass
class Received:
	to: str
	message: str
	username: str
	api_key: str


class SmsStandIn:
	def __init__(self, server: HTTPServer):
		self.server = server
		self.lock = threading.Lock()
		self.requests: list[Received] = []
		self.behaviours: list[str] = []
		server.expect_request(PATH, method="POST").respond_with_handler(self._handle)

	def _handle(self, request: Request) -> Response:
		with self.lock:
			behaviour = self.behaviours.pop(0) if self.behaviours else "ok"
			self.requests.append(
				Received(
					to=request.form.get("to", ""),
					message=request.form.get("message", ""),
					username=request.form.get("username", ""),
					api_key=request.headers.get("apiKey", ""),
				)
			)
		if behaviour not in ("ok", "refused"):
			return Response("gateway error", status=int(behaviour))
		refused = behaviour == "refused"  # Africa's Talking: HTTP 201, the recipient refused in the body
		recipient = (
			{"statusCode": 403, "status": "InvalidPhoneNumber"}
			if refused
			else {"statusCode": 101, "status": "Success", "messageId": f"ATX{len(self.requests)}"}
		)
		reply = {
			"SMSMessageData": {
				"Message": "Sent to 0/1" if refused else "Sent to 1/1 Total Cost: KES 0.8000",
				"Recipients": [recipient],
			}
		}
		return Response(json.dumps(reply), status=201, content_type="application/json")

	@property
	def texts(self) -> list[str]:
		return [received.message for received in self.requests]

	def gateway(self) -> HttpGateway:
		"""The gateway as SMS Settings would configure Africa's Talking (see docs/messaging.md)."""
		return HttpGateway(
			url=self.server.url_for(PATH),
			message_parameter="message",
			receiver_parameter="to",
			parameters={"username": "sandbox"},
			headers={"apiKey": API_KEY, "Accept": "application/json"},
			use_post=True,
			timeout_s=5,
		)


@pytest.fixture
def sms_standin():
	server = HTTPServer(host="127.0.0.1", port=0)
	server.start()
	try:
		yield SmsStandIn(server)
	finally:
		server.clear()
		if server.is_running():
			server.stop()
