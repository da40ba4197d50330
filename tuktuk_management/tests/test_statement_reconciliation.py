"""The books against the M-Pesa statement in a bench: the report, the nightly figures, the
Account Balance result endpoint (guarded like the other callbacks).

The endpoint and recovery commit, so every test uses fresh receipts; TukTuk Settings are restored
after the class.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password, set_encrypted_password

from tuktuk_management.api import balance as balance_api
from tuktuk_management.api.reconciliation import scheduled_reconciliation
from tuktuk_management.daraja import pulls
from tuktuk_management.ledger.mpesa_statement import balance
from tuktuk_management.tests.factories import (
	call_webhook,
	callback_log,
	delete_test_rows,
	make_driver,
	make_vehicle,
	new_trans_id,
)
from tuktuk_management.tuktuk_management.report.statement_reconciliation import statement_reconciliation

SETTINGS = "TukTuk Settings"
TOKEN = "test-callback-token-" + "z" * 24


def unique_time(minutes: int = 0) -> str:
	"""A statement time no earlier run of these tests used (the tests commit), as the export prints it."""
	moment = datetime(2035, 1, 1) + timedelta(seconds=int(time.time() * 10), minutes=minutes)
	return moment.strftime("%d-%m-%Y %H:%M:%S")


def delete_statement_rows(since) -> None:
	"""Remove the statement rows, fee postings and balance checks a committing test wrote."""
	lines = frappe.db.sql_list("select name from `tabTukTuk Statement Line` where creation >= %s", since)
	if lines:
		frappe.db.sql(
			"delete from `tabTukTuk Ledger Entry` where voucher_type = 'TukTuk Statement Line' and voucher_no in %s",
			(lines,),
		)
		frappe.db.sql("delete from `tabTukTuk Statement Line` where name in %s", (lines,))
	frappe.db.sql("delete from `tabTukTuk Statement Import` where creation >= %s", since)
	frappe.db.sql("delete from `tabTukTuk Paybill Balance Check` where creation >= %s", since)
	frappe.db.sql("delete from `tabTukTuk Reconciliation Run` where creation >= %s", since)
	frappe.db.commit()


def upload(content: str):
	file_doc = frappe.get_doc(
		{"doctype": "File", "file_name": f"{new_trans_id()}.csv", "content": content, "is_private": 1}
	).insert(ignore_permissions=True)
	return frappe.get_doc(
		{"doctype": "TukTuk Statement Import", "statement_file": file_doc.file_url}
	).insert()


class TestStatementReconciliation(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.saved_paybill = frappe.db.get_single_value(SETTINGS, "mpesa_paybill")
		cls.saved_ips = frappe.db.get_single_value(SETTINGS, "allowed_callback_ips")
		cls.saved_token = get_decrypted_password(SETTINGS, SETTINGS, "callback_token", raise_exception=False)
		set_encrypted_password(SETTINGS, SETTINGS, TOKEN, "callback_token")
		frappe.db.set_single_value(SETTINGS, {"mpesa_paybill": "600966", "allowed_callback_ips": ""})
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.set_single_value(
			SETTINGS, {"mpesa_paybill": cls.saved_paybill, "allowed_callback_ips": cls.saved_ips}
		)
		if cls.saved_token:
			set_encrypted_password(SETTINGS, SETTINGS, cls.saved_token, "callback_token")
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		self.started_at = now_datetime()
		self.drivers, self.vehicles = [], []

	def tearDown(self):
		frappe.db.rollback()
		delete_statement_rows(self.started_at)
		delete_test_rows(self.started_at, drivers=self.drivers, vehicles=self.vehicles)

	def fleet(self):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name, fare_percentage=50)
		self.vehicles.append(vehicle.name)
		self.drivers.append(driver.name)
		return vehicle

	def test_report_counts_outcomes_and_lists_what_needs_a_look(self):
		vehicle = self.fleet()
		missed, paid = new_trans_id(), new_trans_id()
		imported = upload(
			"Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,A/C No.\n"
			f"{missed},{unique_time()},Pay Bill Online,Completed,300.00,,{vehicle.mpesa_account}\n"
			f"{paid},{unique_time(1)},Business Transfer to Bank,Completed,,1000.00,\n"
		)
		columns, data, _message, _chart, summary = statement_reconciliation.execute(
			{"statement_import": imported.name}
		)
		self.assertIn("match_status", [c["fieldname"] for c in columns])
		self.assertEqual(
			{row["receipt_no"]: row["match_status"] for row in data},
			{missed: "Not in Books", paid: "Not in Books"},
		)
		not_in_books = next(card for card in summary if card["label"] == "Not in Books")
		self.assertEqual(not_in_books["value"], "2 / KES 1,300")

	def test_nightly_reconciliation_carries_the_statement_figures(self):
		vehicle = self.fleet()
		missed = new_trans_id()
		upload(
			"Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,A/C No.\n"
			f"{missed},{unique_time()},Pay Bill Online,Completed,250.00,,{vehicle.mpesa_account}\n"
		)
		frappe.db.commit()
		result = scheduled_reconciliation()
		self.assertEqual(result["statement"]["recoverable"], {"count": 1, "amount_kes": 250})
		self.assertGreaterEqual(result["statement"]["differences"], 1)

	def test_balance_result_endpoint_is_guarded_stored_raw_and_applied(self):
		frappe.db.set_single_value(
			SETTINGS,
			{
				"paybill_balance_offset_kes": 0,
				"balance_tolerance_kes": 0,
				"balance_check_accounts": "Utility Account",
			},
		)
		name = frappe.generate_hash(length=10)
		originator = f"AB-{name}"
		frappe.db.sql(
			"""insert into `tabTukTuk Paybill Balance Check` (name, creation, modified, owner, modified_by,
			status, requested_at, originator_conversation_id, accounts, offset_kes, tolerance_kes)
			values (%s, %s, %s, 'Administrator', 'Administrator', 'Requested', %s, %s,
			'Utility Account', 0, 0)""",
			(name, self.started_at, self.started_at, self.started_at, originator),
		)
		frappe.db.commit()
		completed = datetime(2040, 1, 1)
		books = balance.books_balance_kes(frappe.db, completed)
		body = pulls.balance_result_body(
			originator_conversation_id=originator,
			conversation_id="AG_1",
			balances_kes={"Utility Account": books + 75},
			completed=completed.strftime("%Y%m%d%H%M%S"),
		)
		refused = call_webhook(balance_api.result, body, token="wrong")
		self.assertEqual(refused.status_code, 403)
		self.assertEqual(frappe.db.get_value("TukTuk Paybill Balance Check", name, "status"), "Requested")
		accepted = call_webhook(balance_api.result, body, token=TOKEN)
		self.assertEqual(accepted.status_code, 200)
		check = frappe.db.get_value(
			"TukTuk Paybill Balance Check", name, ["status", "difference", "callback_log"], as_dict=True
		)
		self.assertEqual((check.status, check.difference), ("Difference", 75))
		self.assertEqual(callback_log(check.callback_log).status, "Processed")
		again = call_webhook(balance_api.result, body, token=TOKEN)
		self.assertEqual(again.status_code, 200)
		self.assertEqual(callback_log(endpoint="Account Balance Result").status, "Duplicate")
