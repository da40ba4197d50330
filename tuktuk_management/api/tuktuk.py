"""Console calls of the seed runbook (``bench console`` / ``bench execute``); none is whitelisted."""

from __future__ import annotations

import json

from tuktuk_management.api.c2b import receive_confirmation

CONSOLE_SOURCE_IP = "console"


def mpesa_confirmation(data: dict | str) -> dict:
	"""Process a C2B confirmation body (Daraja shape) exactly as the webhook does, minus its
	token and IP checks: stored raw (committed), applied, logged.

	data: the body as a dict or as JSON text. Returns the acknowledgement Daraja would get
	(``ResultCode``, ``ResultDesc``) plus ``status`` (the callback log status: Processed,
	Duplicate, Conflict, Unallocated, Invalid, Received while paused, Failed) and
	``transaction`` (the TukTuk Transaction name, or None).

	    bench --site SITE execute tuktuk_management.api.tuktuk.mpesa_confirmation \\
	        --kwargs '{"data": {"TransID": "...", ...}}'
	"""
	raw_body = data if isinstance(data, str) else json.dumps(data)
	result = receive_confirmation(raw_body, source_ip=CONSOLE_SOURCE_IP)
	return {**result.reply, "status": result.status, "transaction": result.transaction}
