# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from tuktuk_management.ledger.journal import parse_journal, post_journal
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.tests.factories import make_driver


def posted_journal(driver: str, amount_kes: int = 250) -> str:
	settings = load_settings(frappe.db)
	body = parse_journal(
		"test-" + frappe.generate_hash(length=10),
		[
			{"account": "revenue", "debit": amount_kes},
			{"account": "deposit", "driver": driver, "credit": amount_kes, "remarks": "deposit top-up"},
		],
		"test journal",
		settings=settings,
	)
	return post_journal(frappe.db, body, settings=settings, now=now_datetime()).name


class TestTukTukJournal(FrappeTestCase):
	def test_core_written_journal_loads_with_its_lines(self):
		driver = make_driver().name
		journal = frappe.get_doc("TukTuk Journal", posted_journal(driver))
		self.assertEqual((journal.status, journal.total_kes, len(journal.lines)), ("Posted", 250, 2))
		self.assertEqual(
			[(line.account, line.driver, line.debit, line.credit) for line in journal.lines],
			[("revenue", None, 250, 0), ("deposit", driver, 0, 250)],
		)
		self.assertEqual(frappe.db.get_value("TukTuk Driver", driver, "current_deposit_balance"), 250)

	def test_manual_insert_edit_and_delete_are_refused(self):
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc({"doctype": "TukTuk Journal", "idempotency_key": "by-hand"}).insert()
		journal = frappe.get_doc("TukTuk Journal", posted_journal(make_driver().name))
		journal.remarks = "changed"
		with self.assertRaises(frappe.PermissionError):
			journal.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc("TukTuk Journal", journal.name)
