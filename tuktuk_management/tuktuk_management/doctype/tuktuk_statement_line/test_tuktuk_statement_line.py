# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import time
from datetime import datetime, timedelta

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from tuktuk_management.api.statement import match_statement, recover_lines
from tuktuk_management.tests.factories import delete_test_rows, make_driver, make_vehicle, new_trans_id
from tuktuk_management.tests.test_statement_reconciliation import delete_statement_rows


def unique_time() -> str:
	"""A statement time no earlier run used (these tests commit), as the export prints it."""
	moment = datetime(2035, 1, 1) + timedelta(seconds=int(time.time() * 10))
	return moment.strftime("%d-%m-%Y %H:%M:%S")


def statement_import(*rows: str):
	content = "Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,A/C No.\n" + "".join(
		rows
	)
	file_doc = frappe.get_doc(
		{"doctype": "File", "file_name": f"{new_trans_id()}.csv", "content": content, "is_private": 1}
	).insert(ignore_permissions=True)
	return frappe.get_doc(
		{"doctype": "TukTuk Statement Import", "statement_file": file_doc.file_url}
	).insert()


class TestTukTukStatementLine(FrappeTestCase):
	def setUp(self):
		self.started_at = now_datetime()
		self.drivers, self.vehicles = [], []
		if not frappe.db.get_single_value("TukTuk Settings", "mpesa_paybill"):
			frappe.db.set_single_value("TukTuk Settings", "mpesa_paybill", "600966")

	def tearDown(self):
		frappe.db.rollback()
		delete_statement_rows(self.started_at)
		delete_test_rows(self.started_at, drivers=self.drivers, vehicles=self.vehicles)

	def test_a_missed_payment_is_recovered_once_through_the_confirmation_path(self):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name, fare_percentage=50)
		self.vehicles.append(vehicle.name)
		self.drivers.append(driver.name)
		receipt = new_trans_id()
		imported = statement_import(
			f"{receipt},{unique_time()},Pay Bill Online,Completed,300.00,,{vehicle.mpesa_account}\n"
		)
		self.assertEqual(
			frappe.db.get_value("TukTuk Statement Line", receipt, "match_status"), "Not in Books"
		)
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- test: the upload is its own request; recovery commits its steps
		result = recover_lines([receipt])
		self.assertEqual(result["applied"], 1)
		transaction = frappe.get_doc("TukTuk Transaction", receipt)
		self.assertEqual((transaction.driver, transaction.amount), (driver.name, 300))
		self.assertEqual(
			frappe.db.get_value("TukTuk Callback Log", transaction.callback_log, "source_ip"),
			f"statement:{receipt}",
		)
		self.assertEqual(recover_lines([receipt])["applied"], 0)
		summary = match_statement(imported.name)
		self.assertEqual(summary["outcomes"]["Matched"]["count"], 1)
		self.assertEqual(frappe.db.get_value("TukTuk Statement Line", receipt, "recovered"), 1)

	def test_manual_insert_is_refused(self):
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(
				{"doctype": "TukTuk Statement Line", "receipt_no": "TSTMANUAL1", "__newname": "TSTMANUAL1"}
			).insert()
