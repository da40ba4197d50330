# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

CSV = (
	"Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,A/C No.\n"
	"TSTIMP0001,21-11-2026 10:16:26,Pay Bill Online,Completed,100.00,,TT001\n"
	"TSTIMP0002,21-11-2026 10:17:26,Pay Bill Online,Completed,200.00,,TT001\n"
)


def make_import(content: str, file_name: str = "statement.csv"):
	file_doc = frappe.get_doc(
		{"doctype": "File", "file_name": file_name, "content": content, "is_private": 1}
	).insert(ignore_permissions=True)
	return frappe.get_doc(
		{"doctype": "TukTuk Statement Import", "statement_file": file_doc.file_url}
	).insert()


class TestTukTukStatementImport(FrappeTestCase):
	def test_upload_stores_each_receipt_once_and_matches(self):
		first = make_import(CSV)
		self.assertEqual((first.lines_read, first.lines_new), (2, 2))
		self.assertEqual(
			frappe.db.get_value("TukTuk Statement Line", "TSTIMP0001", "match_status"), "Not in Books"
		)
		again = make_import(CSV, "again.csv")
		self.assertEqual((again.lines_new, again.lines_existing), (0, 2))
		self.assertEqual(frappe.db.count("TukTuk Statement Line", {"name": ["like", "TSTIMP%"]}), 2)

	def test_a_malformed_file_is_refused_naming_the_line(self):
		bad = CSV + "TSTIMP0003,21-11-2026 10:18:26,Pay Bill Online,Completed,12a,,TT001\n"
		with self.assertRaisesRegex(frappe.ValidationError, "line 4"):
			make_import(bad, "bad.csv")
		self.assertFalse(frappe.db.exists("TukTuk Statement Line", "TSTIMP0003"))
