"""A local stand-in for an HTTP SMS gateway, for checks against a running bench (never production).

It answers like Africa's Talking's messaging endpoint, as ``tests/sms_standin.py`` does for the
framework-free tests: ``POST /version1/messaging`` with form parameters ``username``, ``to``,
``message`` and header ``apiKey``; HTTP 201 with a JSON ``SMSMessageData`` reply. Every request is
appended to ``--log`` as one JSON line ``{"to", "message", "username", "api_key", "path"}``.
Standard library only:

    python3 scripts/sms_standin_server.py --port 8095 --log /tmp/sms_standin.jsonl
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

PATH = "/version1/messaging"


def make_handler(log_path: str):
	lock = threading.Lock()
	counter = {"n": 0}

	class Handler(BaseHTTPRequestHandler):
		def do_POST(self):
			length = int(self.headers.get("Content-Length") or 0)
			body = self.rfile.read(length).decode("utf-8", "replace")
			if self.headers.get("Content-Type", "").startswith("application/json"):
				form = {key: str(value) for key, value in json.loads(body or "{}").items()}
			else:
				form = {key: values[-1] for key, values in parse_qs(body).items()}
			record = {
				"path": self.path,
				"to": form.get("to", ""),
				"message": form.get("message", ""),
				"username": form.get("username", ""),
				"api_key": self.headers.get("apiKey", ""),
			}
			with lock:
				counter["n"] += 1
				number = counter["n"]
				with open(log_path, "a", encoding="utf-8") as log:
					log.write(json.dumps(record) + "\n")
			if self.path.split("?")[0] != PATH:
				self.send_response(404)
				self.end_headers()
				return
			reply = {
				"SMSMessageData": {
					"Message": "Sent to 1/1 Total Cost: KES 0.8000",
					"Recipients": [
						{
							"statusCode": 101,
							"number": record["to"],
							"status": "Success",
							"cost": "KES 0.8000",
							"messageId": f"ATXSTANDIN{number}",
						}
					],
				}
			}
			payload = json.dumps(reply).encode()
			self.send_response(201)
			self.send_header("Content-Type", "application/json")
			self.send_header("Content-Length", str(len(payload)))
			self.end_headers()
			self.wfile.write(payload)

		def log_message(self, *args):  # quiet: the log file is the record
			pass

	return Handler


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--port", type=int, default=8095)
	parser.add_argument("--log", required=True)
	arguments = parser.parse_args()
	open(arguments.log, "w").close()
	ThreadingHTTPServer(("127.0.0.1", arguments.port), make_handler(arguments.log)).serve_forever()


if __name__ == "__main__":
	main()
