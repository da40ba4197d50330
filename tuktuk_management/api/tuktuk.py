"""Console calls of the seed runbook (``bench console`` / ``bench execute``); none is whitelisted."""

from __future__ import annotations

import json

import frappe

from tuktuk_management.api.c2b import receive_confirmation
from tuktuk_management.api.corrections import allocate, record_missed

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


def process_uncaptured_payment(
	transaction_id: str, driver: str | None = None, vehicle: str | None = None
) -> dict:
	"""Seed runbook name: allocate an Unallocated (suspense) payment to a driver or a vehicle's
	current driver, and commit. Same rules and reply as
	``tuktuk_management.api.corrections.allocate_payment``.

	    bench --site SITE execute tuktuk_management.api.tuktuk.process_uncaptured_payment \\
	        --kwargs '{"transaction_id": "TK12345678", "driver": "D000123"}'
	"""
	result = allocate(transaction_id, driver=driver, vehicle=vehicle)
	frappe.db.commit()  # console unit of work: `bench console` does not commit
	return result


def add_missed_transaction(
	transaction_id: str,
	amount: int | str,
	account: str,
	trans_time: str,
	driver: str | None = None,
	vehicle: str | None = None,
) -> dict:
	"""Seed runbook: add a payment M-Pesa received whose callback never arrived, and commit.
	Idempotent on TransID. Same rules and reply as
	``tuktuk_management.api.corrections.record_missed_payment``.

	    bench --site SITE execute tuktuk_management.api.tuktuk.add_missed_transaction \\
	        --kwargs '{"transaction_id": "TK12345678", "amount": 300, "account": "TT-7",
	                   "trans_time": "20261121121325"}'
	"""
	result = record_missed(transaction_id, amount, account, trans_time, driver=driver, vehicle=vehicle)
	frappe.db.commit()  # console unit of work: `bench console` does not commit
	return result
