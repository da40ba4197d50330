# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management.tests.factories import make_driver
from tuktuk_management.tuktuk_management.doctype.tuktuk_journal.test_tuktuk_journal import posted_journal


class TestTukTukJournalLine(FrappeTestCase):
	def test_lines_are_child_rows_of_their_journal(self):
		driver = make_driver().name
		journal = posted_journal(driver, 120)
		lines = frappe.get_all(
			"TukTuk Journal Line",
			filters={"parent": journal},
			fields=["parenttype", "parentfield", "idx", "account", "credit"],
			order_by="idx",
		)
		self.assertEqual(
			[(r.parenttype, r.parentfield, r.idx, r.account, r.credit) for r in lines],
			[("TukTuk Journal", "lines", 1, "revenue", 0), ("TukTuk Journal", "lines", 2, "deposit", 120)],
		)
