# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""Withdrawal requests through the whitelisted methods, with role checks live: a driver asks for
their own payable only and cannot approve; a manager approves (one payout) or rejects; pay now;
a driver lists and opens only their own requests; nobody writes a request by hand."""

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management import roles
from tuktuk_management.api import withdrawals as api
from tuktuk_management.ledger.journal import parse_journal, post_journal
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.tests.factories import make_driver, make_vehicle
from tuktuk_management.tests.test_roles import as_user, make_user

DRIVER_USER = "tuktuk-wd-driver@example.com"
OTHER_USER = "tuktuk-wd-driver2@example.com"
MANAGER_USER = "tuktuk-wd-manager@example.com"


def give_payable(driver: str, amount_kes: int) -> None:
	"""Payable for the driver through the core's journal (suspense -> payable), not committed."""
	settings = load_settings(frappe.db)
	body = parse_journal(
		frappe.generate_hash(length=12),
		[
			{"account": "suspense", "debit": amount_kes},
			{"account": "payable", "driver": driver, "credit": amount_kes},
		],
		settings=settings,
	)
	post_journal(frappe.db, body, settings=settings, now=frappe.utils.now_datetime())


class TestTukTukWithdrawalRequest(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_user(DRIVER_USER, [roles.DRIVER])
		make_user(OTHER_USER, [roles.DRIVER])
		make_user(MANAGER_USER, [roles.MANAGER])
		settings = frappe.get_single("TukTuk Settings")
		settings.withdrawal_minimum_kes = 100
		settings.withdrawal_max_per_day_kes = 10_000
		settings.withdrawal_cooldown_minutes = 0
		settings.withdrawal_auto_approve_max_kes = 200
		settings.save()
		cls.driver = make_driver(make_vehicle().name, user=DRIVER_USER)
		cls.other = make_driver(make_vehicle().name, user=OTHER_USER)
		give_payable(cls.driver.name, 3000)
		give_payable(cls.other.name, 3000)

	def test_driver_requests_for_themselves_only_and_cannot_approve(self):
		with as_user(DRIVER_USER):
			small = api.request_withdrawal(150)
			big = api.request_withdrawal(1000)
		self.assertEqual(small["status"], "Approved")
		self.assertTrue(small["payout"])
		self.assertEqual(big["status"], "Requested")
		rows = frappe.get_all(
			"TukTuk Withdrawal Request",
			filters={"name": ("in", [small["name"], big["name"]])},
			pluck="driver",
		)
		self.assertEqual(set(rows), {self.driver.name})
		self.assertEqual(frappe.db.get_value("TukTuk Payout", small["payout"], "driver"), self.driver.name)
		# The method takes no driver: a driver cannot ask for someone else's money.
		with as_user(DRIVER_USER), self.assertRaises(TypeError):
			api.request_withdrawal(150, driver=self.other.name)
		for method, args in (
			(api.approve_withdrawal, (big["name"],)),
			(api.reject_withdrawal, (big["name"], "no")),
		):
			with (
				self.subTest(method=method.__name__),
				as_user(DRIVER_USER),
				self.assertRaises(frappe.PermissionError),
			):
				method(*args)
		with as_user(DRIVER_USER), self.assertRaises(frappe.PermissionError):
			api.pay_now(self.driver.name)
		with as_user(MANAGER_USER), self.assertRaises(frappe.PermissionError):
			api.request_withdrawal(150)

	def test_limits_are_refused_with_the_reason(self):
		with as_user(OTHER_USER), self.assertRaisesRegex(frappe.ValidationError, "smallest withdrawal"):
			api.request_withdrawal(99)
		with as_user(OTHER_USER), self.assertRaisesRegex(frappe.ValidationError, "can be paid out now"):
			api.request_withdrawal(3001)
		with as_user(OTHER_USER), self.assertRaisesRegex(frappe.ValidationError, "whole shillings"):
			api.request_withdrawal("10.5")

	def test_manager_approves_once_and_rejects(self):
		with as_user(DRIVER_USER):
			first = api.request_withdrawal(500)
			second = api.request_withdrawal(400)
		with as_user(MANAGER_USER):
			approved = api.approve_withdrawal(first["name"])
			again = api.approve_withdrawal(first["name"])
			rejected = api.reject_withdrawal(second["name"], "ask again tomorrow")
		self.assertEqual(
			(approved["status"], again["payout"], again["replayed"]), ("Approved", approved["payout"], True)
		)
		self.assertEqual(frappe.db.count("TukTuk Payout", {"name": approved["payout"]}), 1)
		request = frappe.get_doc("TukTuk Withdrawal Request", second["name"])
		self.assertEqual(
			(rejected["status"], request.reason, request.decided_by),
			("Rejected", "ask again tomorrow", MANAGER_USER),
		)
		with as_user(MANAGER_USER), self.assertRaises(frappe.ValidationError):
			api.approve_withdrawal(second["name"])
		self.assertTrue(check_books(frappe.db).clean)

	def test_pay_now_pays_what_is_available_once(self):
		with as_user(MANAGER_USER):
			summary = api.payable_summary(self.other.name)
			paid = api.pay_now(self.other.name)
			with self.assertRaisesRegex(frappe.ValidationError, "Nothing to pay"):
				api.pay_now(self.other.name)
		self.assertEqual(paid["amount_kes"], summary["available_kes"])
		self.assertEqual(
			frappe.db.get_value("TukTuk Payout", paid["payout"], "amount"), summary["available_kes"]
		)

	def test_driver_sees_only_own_requests(self):
		with as_user(DRIVER_USER):
			own = api.request_withdrawal(300)
		with as_user(OTHER_USER):
			other = api.request_withdrawal(300)
			visible = set(frappe.get_list("TukTuk Withdrawal Request", pluck="name", limit_page_length=0))
			self.assertIn(other["name"], visible)
			self.assertNotIn(own["name"], visible)
			with self.assertRaises(frappe.PermissionError):
				frappe.get_doc("TukTuk Withdrawal Request", own["name"]).check_permission("read")
		doc = frappe.get_doc("TukTuk Withdrawal Request", other["name"])
		self.assertFalse(frappe.has_permission("TukTuk Withdrawal Request", "write", doc, user=OTHER_USER))

	def test_requests_are_not_written_by_hand(self):
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(
				{"doctype": "TukTuk Withdrawal Request", "driver": self.driver.name, "amount_kes": 100}
			).insert()

	def test_requests_and_unpaid_payouts_are_on_the_driver_statement(self):
		from tuktuk_management.tuktuk_management.report.driver_statement.driver_statement import execute

		with as_user(DRIVER_USER):
			asked = api.request_withdrawal(120)  # auto-approved: a payout on its way
			_columns, rows, *_rest = execute({"driver": self.driver.name})
		remarks = {(row.get("voucher_type"), row.get("voucher_no")): row.get("remarks") for row in rows}
		self.assertIn(
			f"Driver Request of 120 KES: Approved, payout {asked['payout']} Queued",
			remarks[("TukTuk Withdrawal Request", asked["name"])],
		)
		self.assertEqual(
			remarks[("TukTuk Payout", asked["payout"])], "Payout of 120 KES: Queued (not paid yet)"
		)
