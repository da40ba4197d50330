# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""TukTuk Deposit Entry on a site: submit posts once, cancel reverses, deductions never below
zero, the activation rule on the driver form, and a driver sees only their own entries."""

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management import roles
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.tests.factories import make_driver, make_vehicle
from tuktuk_management.tests.test_roles import as_user, make_user

DRIVER_USER = "tuktuk-dep-driver@example.com"
OTHER_USER = "tuktuk-dep-driver2@example.com"


def deposit_entry(driver: str, kind: str, amount_kes: int, **values):
	return frappe.get_doc(
		{
			"doctype": "TukTuk Deposit Entry",
			"driver": driver,
			"kind": kind,
			"amount_kes": amount_kes,
			**values,
		}
	)


def lines(entry: str) -> list[tuple]:
	return [
		(row.account, row.party, int(row.debit), int(row.credit), row.is_reversal)
		for row in frappe.get_all(
			"TukTuk Ledger Entry",
			filters={"voucher_type": "TukTuk Deposit Entry", "voucher_no": entry},
			fields=["account", "party", "debit", "credit", "is_reversal"],
			order_by="is_reversal asc, account asc",
		)
	]


def deposit_kes(driver: str) -> int:
	return int(frappe.db.get_value("TukTuk Driver", driver, "current_deposit_balance"))


class TestTukTukDepositEntry(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_user(DRIVER_USER, [roles.DRIVER])
		make_user(OTHER_USER, [roles.DRIVER])
		cls.driver = make_driver(make_vehicle().name, user=DRIVER_USER)
		cls.other = make_driver(make_vehicle().name, user=OTHER_USER)

	def test_cash_deposit_posts_once_and_cancel_reverses(self):
		entry = deposit_entry(self.driver.name, "Cash Deposit", 2000, reference="RCPT-1").insert()
		entry.submit()
		self.assertEqual(
			lines(entry.name), [("cash", None, 2000, 0, 0), ("deposit", self.driver.name, 0, 2000, 0)]
		)
		self.assertEqual(deposit_kes(self.driver.name), 2000)
		self.assertEqual(int(entry.deposit_after_kes), 2000)
		entry.run_method("on_submit")  # a second submit changes nothing
		self.assertEqual(len(lines(entry.name)), 2)
		entry.cancel()
		self.assertEqual(deposit_kes(self.driver.name), 0)
		self.assertEqual([line[4] for line in lines(entry.name)], [0, 0, 1, 1])
		self.assertTrue(check_books(frappe.db).clean)

	def test_deduction_never_below_zero(self):
		deposit_entry(self.other.name, "Cash Deposit", 300, reference="RCPT-2").insert().submit()
		with self.assertRaisesRegex(frappe.ValidationError, "below zero"):
			deposit_entry(self.other.name, "Damage Charge", 301, reason="mirror").insert()
		charge = deposit_entry(self.other.name, "Damage Charge", 300, reason="mirror").insert()
		charge.submit()
		self.assertEqual(
			lines(charge.name), [("deductions", None, 0, 300, 0), ("deposit", self.other.name, 300, 0, 0)]
		)
		self.assertEqual(deposit_kes(self.other.name), 0)
		with self.assertRaisesRegex(frappe.ValidationError, "reason"):
			deposit_entry(self.other.name, "Other Deduction", 1).insert()

	def test_activation_needs_the_deposit_or_a_reason(self):
		driver = make_driver(status="Inactive", deposit_required=1500)
		driver.status = "Active"
		with self.assertRaisesRegex(frappe.ValidationError, "1500 KES short"):
			driver.save()
		driver.reload()
		driver.status = "Active"
		driver.deposit_override_reason = "pays the rest on Friday"
		driver.save()
		self.assertEqual(frappe.db.get_value("TukTuk Driver", driver.name, "status"), "Active")
		paid = make_driver(status="Inactive", deposit_required=500)
		deposit_entry(paid.name, "Cash Deposit", 500, reference="RCPT-3").insert().submit()
		paid.reload()
		paid.status = "Active"
		paid.save()
		with self.assertRaisesRegex(frappe.ValidationError, "short"):
			make_driver(deposit_required=100)  # a new Active driver without a deposit

	def test_driver_sees_only_own_entries(self):
		own = deposit_entry(self.driver.name, "Cash Deposit", 10, reference="R-own").insert()
		other = deposit_entry(self.other.name, "Cash Deposit", 10, reference="R-other").insert()
		with as_user(DRIVER_USER):
			visible = set(frappe.get_list("TukTuk Deposit Entry", pluck="name", limit_page_length=0))
			self.assertIn(own.name, visible)
			self.assertNotIn(other.name, visible)
			with self.assertRaises(frappe.PermissionError):
				frappe.get_doc("TukTuk Deposit Entry", other.name).check_permission("read")
		self.assertFalse(frappe.has_permission("TukTuk Deposit Entry", "create", user=DRIVER_USER))

	def test_deposit_report_shows_who_owes_what_and_the_history(self):
		from tuktuk_management.tuktuk_management.report.deposit.deposit import execute

		driver = make_driver(status="Inactive", deposit_required=800)
		deposit_entry(driver.name, "Cash Deposit", 500, reference="RCPT-9").insert().submit()
		deposit_entry(driver.name, "Damage Charge", 50, reason="seat cover").insert().submit()
		_columns, rows, _message, _chart, summary = execute({"only_short": 1})
		row = next(r for r in rows if r["driver"] == driver.name)
		self.assertEqual((row["required_kes"], row["held_kes"], row["shortfall_kes"]), (800, 450, 350))
		self.assertTrue(all(r["shortfall_kes"] > 0 for r in rows))
		self.assertTrue(summary)
		_columns, history = execute({"driver": driver.name})
		self.assertEqual(
			[(h["kind"], h["in_kes"], h["out_kes"], h["balance_kes"], h["remarks"]) for h in history],
			[("Cash Deposit", 500, 0, 500, "RCPT-9"), ("Damage Charge", 0, 50, 450, "seat cover")],
		)
		with as_user(DRIVER_USER), self.assertRaises(frappe.PermissionError):
			execute({})
