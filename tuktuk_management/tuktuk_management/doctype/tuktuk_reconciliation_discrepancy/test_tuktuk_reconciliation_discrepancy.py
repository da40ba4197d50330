# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase


class TestTukTukReconciliationDiscrepancy(FrappeTestCase):
	def test_is_a_child_table_of_the_run(self):
		meta = frappe.get_meta("TukTuk Reconciliation Discrepancy")
		self.assertTrue(meta.istable)
		table = frappe.get_meta("TukTuk Reconciliation Run").get_field("discrepancies")
		self.assertEqual(table.options, "TukTuk Reconciliation Discrepancy")
		self.assertEqual(
			{f.fieldname for f in meta.fields},
			{"driver", "field", "cached_kes", "ledger_kes", "difference_kes", "fixed"},
		)
