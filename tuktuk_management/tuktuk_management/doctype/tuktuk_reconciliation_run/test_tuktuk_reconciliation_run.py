# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from tuktuk_management.ledger import reconcile
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle


class TestTukTukReconciliationRun(FrappeTestCase):
	def test_core_writes_the_run_with_its_discrepancy_rows(self):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name)
		apply_payment(vehicle.mpesa_account, "500")
		frappe.db.sql(
			"update `tabTukTuk Driver` set payout_pending = payout_pending + 3 where name = %s", driver.name
		)
		result = reconcile.run_reconciliation(
			frappe.db,
			settings=load_settings(frappe.db),
			clock=now_datetime,
			triggered_by="test",
			driver=driver.name,
		)
		run = frappe.get_doc("TukTuk Reconciliation Run", result.run)
		self.assertEqual(
			(run.status, run.drivers_checked, run.drivers_with_discrepancies), ("Drift Found", 1, 1)
		)
		self.assertEqual(
			[(d.driver, d.field, d.difference_kes, d.fixed) for d in run.discrepancies],
			[(driver.name, "payout_pending", 3, 0)],
		)
		run.status = "Clean"
		with self.assertRaises(frappe.PermissionError):
			run.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc("TukTuk Reconciliation Run", run.name)

	def test_manual_insert_is_refused(self):
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc({"doctype": "TukTuk Reconciliation Run", "status": "Clean"}).insert()
