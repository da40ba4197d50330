# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management.ledger.schema import COMPOSITE_INDEXES, index_name
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle


class TestTukTukLedgerEntry(FrappeTestCase):
	def test_manual_insert_is_refused(self):
		driver = make_driver()
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(
				{
					"doctype": "TukTuk Ledger Entry",
					"account": "target",
					"party_type": "TukTuk Driver",
					"party": driver.name,
					"credit": 1000,
					"voucher_type": "TukTuk Driver",
					"voucher_no": driver.name,
				}
			).insert()
		self.assertFalse(frappe.db.exists("TukTuk Ledger Entry", {"party": driver.name}))

	def test_posted_lines_cannot_be_edited_or_deleted(self):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name)
		apply_payment(vehicle.mpesa_account, "100")
		name = frappe.db.get_value("TukTuk Ledger Entry", {"party": driver.name, "account": "target"})
		entry = frappe.get_doc("TukTuk Ledger Entry", name)
		entry.credit = 1
		with self.assertRaises(frappe.PermissionError):
			entry.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc("TukTuk Ledger Entry", name)
		self.assertEqual(frappe.db.get_value("TukTuk Ledger Entry", name, "credit"), 50)

	def test_composite_indexes_exist(self):
		for doctype, indexes in COMPOSITE_INDEXES.items():
			for columns in indexes:
				self.assertTrue(frappe.db.has_index(f"tab{doctype}", index_name(columns)), (doctype, columns))

	def test_superseded_indexes_are_replaced_by_the_covering_ones(self):
		from tuktuk_management.ledger.schema import SUPERSEDED_INDEXES
		from tuktuk_management.patches.v1_0 import cover_ledger_sums

		table = "tabTukTuk Ledger Entry"
		old = index_name(SUPERSEDED_INDEXES["TukTuk Ledger Entry"][0])
		if not frappe.db.has_index(table, old):  # a site from before the patch
			frappe.db.sql_ddl(f"alter table `{table}` add index `{old}` (party, account)")
		cover_ledger_sums.execute()
		cover_ledger_sums.execute()  # a second run changes nothing
		for columns in SUPERSEDED_INDEXES["TukTuk Ledger Entry"]:
			self.assertFalse(frappe.db.has_index(table, index_name(columns)), columns)
		for columns in COMPOSITE_INDEXES["TukTuk Ledger Entry"]:
			self.assertTrue(frappe.db.has_index(table, index_name(columns)), columns)
