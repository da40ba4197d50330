"""Factories for the Frappe integration tests: fleet documents, Daraja-shaped C2B bodies, and
calls of the webhook functions with a real werkzeug request.

Ids are random per call, because the webhooks commit: tests must not collide with rows left
by another test, and clean up with :func:`delete_test_rows`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

import frappe
from frappe.model.document import Document
from frappe.utils import now_datetime

from tuktuk_management.daraja import models
from tuktuk_management.ledger.c2b import C2BOutcome, process_confirmation
from tuktuk_management.ledger.settings import load_settings

PAYBILL = "600966"
SAFARICOM_IP = "196.201.214.200"
NGINX_ADDRESS = "127.0.0.1"  # bench setup production: nginx on the same host
TRANS_TIME = "20261121121325"


def new_sunny_id() -> str:
	while True:
		sunny_id = f"D{random.randint(0, 999_999):06d}"
		if not frappe.db.exists("TukTuk Driver", sunny_id):
			return sunny_id


def new_trans_id() -> str:
	"""A TransID in M-Pesa's shape (10 upper-case letters and digits)."""
	return "TT" + frappe.generate_hash(length=8).upper()


def make_vehicle(tuktuk_id: str | None = None, mpesa_account: str | None = None, **values) -> Document:
	tuktuk_id = tuktuk_id or "TTV-" + frappe.generate_hash(length=6).upper()
	return frappe.get_doc(
		{
			"doctype": "TukTuk Vehicle",
			"tuktuk_id": tuktuk_id,
			"mpesa_account": mpesa_account or "ACC" + frappe.generate_hash(length=6).upper(),
			**values,
		}
	).insert()


def make_driver(tuktuk: str | None = None, sunny_id: str | None = None, **values) -> Document:
	"""An Active driver (balances start at 0: opening balances do not come from the desk)."""
	return frappe.get_doc(
		{
			"doctype": "TukTuk Driver",
			"driver_name": "Test Driver",
			"sunny_id": sunny_id or new_sunny_id(),
			"mpesa_number": "254700000000",
			"status": "Active",
			"assigned_tuktuk": tuktuk,
			**values,
		}
	).insert()


def c2b_payload(
	account: str,
	amount: str = "100.00",
	*,
	trans_id: str | None = None,
	shortcode: str = PAYBILL,
	**overrides,
) -> dict:
	"""A C2B confirmation/validation body in the shape of shared/daraja/c2b_confirmation_sample.json."""
	body = models.c2b_body(
		trans_id=trans_id or new_trans_id(),
		trans_time=TRANS_TIME,
		amount=amount,
		account=account,
		shortcode=shortcode,
		org_account_balance="25.00",
	)
	return {**body, **overrides}


def apply_payment(account: str, amount: str = "100", **payload) -> C2BOutcome:
	"""Apply a confirmation with the core in the current transaction (no log, no commit), whatever
	the configured paybill or pause: for DocType tests that need ledger-moved balances."""
	settings = replace(load_settings(frappe.db), mpesa_paybill="", processing_paused=False)
	body = c2b_payload(account, amount, **payload)
	return process_confirmation(frappe.db, body, settings=settings, now=now_datetime())


@contextmanager
def request_context(
	body: bytes | str | dict,
	*,
	token: str | None,
	source_ip: str = SAFARICOM_IP,
	method: str,
	forwarded_for: str | None = None,
	remote_addr: str = NGINX_ADDRESS,
):
	"""Install a POST request for ``method`` as ``frappe.local.request`` (as the web server would).

	By default the request comes as through bench's production nginx: from ``remote_addr``
	(127.0.0.1) with ``X-Forwarded-For: <source_ip>``; ``forwarded_for`` sends another header.
	"""
	data = json.dumps(body) if isinstance(body, dict) else body
	query = {"token": token} if token is not None else {}
	header = source_ip if forwarded_for is None else forwarded_for
	request = EnvironBuilder(
		method="POST",
		path=f"/api/method/{method}",
		query_string=query,
		data=data,
		content_type="application/json",
		headers={"X-Forwarded-For": header} if header else {},
		environ_base={"REMOTE_ADDR": remote_addr},
	).get_request()
	saved = {name: getattr(frappe.local, name, None) for name in ("request", "request_ip")}
	frappe.local.request = request
	frappe.local.request_ip = source_ip
	try:
		yield request
	finally:
		for name, value in saved.items():
			setattr(frappe.local, name, value)


def call_webhook(
	endpoint: Callable[..., Response],
	body: bytes | str | dict,
	*,
	token: str | None,
	source_ip: str = SAFARICOM_IP,
	**request_options,
) -> Response:
	"""Call a webhook function as Frappe would for ``POST /api/method/...?token=...``: a POST
	request ends with a commit (``frappe.app.after_request``), or a rollback if it raised.
	``request_options``: ``forwarded_for`` / ``remote_addr`` of :func:`request_context`."""
	method = f"{endpoint.__module__}.{endpoint.__name__}"
	with request_context(body, token=token, source_ip=source_ip, method=method, **request_options):
		try:
			response = endpoint()
		except Exception:
			frappe.db.rollback()
			raise
		frappe.db.commit()
		return response


def reply_json(response: Response) -> dict:
	return json.loads(response.get_data(as_text=True))


def callback_log(name: str | None = None, **filters) -> frappe._dict | None:
	"""The newest callback log matching ``filters`` (or named ``name``)."""
	if name:
		filters["name"] = name
	rows = frappe.get_all(
		"TukTuk Callback Log",
		filters=filters,
		fields=[
			"name",
			"endpoint",
			"status",
			"trans_id",
			"transaction",
			"attempts",
			"error",
			"raw_body",
			"source_ip",
			"remote_addr",
			"forwarded_for",
		],
		order_by="creation desc",
		limit=1,
	)
	return rows[0] if rows else None


def driver_balances(driver: str) -> dict:
	return frappe.db.get_value(
		"TukTuk Driver",
		driver,
		["current_balance", "left_to_target", "current_deposit_balance", "payout_pending"],
		as_dict=True,
	)


def delete_test_rows(since: datetime, drivers: Iterable[str] = (), vehicles: Iterable[str] = ()) -> None:
	"""Remove what a committing test created (the controllers refuse deletes, so SQL) and commit.

	since: the test's start; ledger-written rows created from then on are removed, with the
	given drivers and vehicles and the Error Logs the webhooks wrote.
	"""
	drivers, vehicles = list(drivers), list(vehicles)
	transactions = frappe.db.sql_list("select name from `tabTukTuk Transaction` where creation >= %s", since)
	if transactions:
		frappe.db.sql(
			"delete from `tabTukTuk Ledger Entry` where voucher_type = 'TukTuk Transaction' and voucher_no in %s",
			(transactions,),
		)
		frappe.db.sql("delete from `tabTukTuk Payout` where transaction in %s", (transactions,))
		frappe.db.sql("delete from `tabTukTuk Transaction` where name in %s", (transactions,))
	if drivers:
		frappe.db.sql("delete from `tabTukTuk Ledger Entry` where party in %s", (drivers,))
		frappe.db.sql("delete from `tabTukTuk Payout` where driver in %s", (drivers,))
		frappe.db.sql("delete from `tabTukTuk Driver` where name in %s", (drivers,))
	if vehicles:
		frappe.db.sql("delete from `tabTukTuk Vehicle` where name in %s", (vehicles,))
	frappe.db.sql("delete from `tabTukTuk Callback Log` where creation >= %s", since)
	frappe.db.sql("delete from `tabError Log` where method like 'TukTuk C2B%%' and creation >= %s", since)
	frappe.db.commit()
