# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management.ledger.journal import parse_journal, post_journal
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.tests.factories import apply_payment, driver_balances, make_driver, make_vehicle


class Injected(Exception):
	pass


def fail_at(step_name):
	def on_step(name):
		if name == step_name:
			raise Injected(name)

	return on_step


def give_deposit(driver: str, amount_kes: int) -> None:
	"""A deposit for the driver, through the core's journal (suspense -> deposit), not committed."""
	settings = load_settings(frappe.db)
	body = parse_journal(
		frappe.generate_hash(length=12),
		[
			{"account": "suspense", "debit": amount_kes},
			{"account": "deposit", "driver": driver, "credit": amount_kes},
		],
		settings=settings,
	)
	post_journal(frappe.db, body, settings=settings, now=frappe.utils.now_datetime())


def ledger_lines(credit_note: str) -> list[tuple]:
	return [
		(row.account, row.party, int(row.debit), int(row.credit), row.is_reversal)
		for row in frappe.get_all(
			"TukTuk Ledger Entry",
			filters={"voucher_type": "TukTuk Credit Note", "voucher_no": credit_note},
			fields=["account", "party", "debit", "credit", "is_reversal"],
			order_by="is_reversal asc, account asc",
		)
	]


def new_credit_note(driver: str, correction_type: str, amount: int, **values):
	return frappe.get_doc(
		{
			"doctype": "TukTuk Credit Note",
			"correction_type": correction_type,
			"driver": driver,
			"amount": amount,
			**values,
		}
	)


class TestTukTukCreditNote(FrappeTestCase):
	def setUp(self):
		self.vehicle = make_vehicle()
		self.driver = make_driver(self.vehicle.name, daily_target=1000).name

	def test_submit_posts_and_cancel_appends_the_reversal(self):
		note = new_credit_note(self.driver, "Target waiver", 300).insert()
		self.assertEqual(ledger_lines(note.name), [])  # a draft posts nothing
		note.submit()
		self.assertEqual(
			ledger_lines(note.name), [("revenue", None, 300, 0, 0), ("target", self.driver, 0, 300, 0)]
		)
		self.assertEqual(note.target_kes, 300)
		self.assertEqual(driver_balances(self.driver).left_to_target, 700)

		note.cancel()
		self.assertEqual(
			ledger_lines(note.name),
			[
				("revenue", None, 300, 0, 0),
				("target", self.driver, 0, 300, 0),
				("revenue", None, 0, 300, 1),
				("target", self.driver, 300, 0, 1),
			],
		)
		self.assertEqual(driver_balances(self.driver).current_balance, 0)
		self.assertEqual(driver_balances(self.driver).left_to_target, 1000)
		self.assertTrue(check_books(frappe.db).clean, check_books(frappe.db).as_dict())

	def test_validate_refuses_more_than_the_balances_allow(self):
		with self.assertRaises(frappe.ValidationError):
			new_credit_note(self.driver, "Target waiver", 1001).insert()
		with self.assertRaises(frappe.ValidationError):
			new_credit_note(self.driver, "Deposit refund", 1).insert()  # no deposit
		with self.assertRaises(frappe.ValidationError):
			new_credit_note(
				self.driver,
				"Balance adjustment",
				10,
				driver_account="deposit",
				direction="Increase",
				counter_account="revenue",
			).insert()  # no reason code
		self.assertFalse(frappe.db.exists("TukTuk Credit Note", {"driver": self.driver}))

	def test_deposit_refund_queues_a_payout_and_cancel_cancels_it(self):
		give_deposit(self.driver, 800)
		note = new_credit_note(self.driver, "Deposit refund", 500, refund_mode="Pay out by M-Pesa").insert()
		note.submit()
		self.assertTrue(note.payout)
		self.assertEqual(
			frappe.db.get_value("TukTuk Payout", note.payout, ["status", "amount"]), ("Queued", 500)
		)
		balances = driver_balances(self.driver)
		self.assertEqual((balances.current_deposit_balance, balances.payout_pending), (300, 500))
		note.cancel()
		self.assertEqual(frappe.db.get_value("TukTuk Payout", note.payout, "status"), "Cancelled")
		balances = driver_balances(self.driver)
		self.assertEqual((balances.current_deposit_balance, balances.payout_pending), (800, 0))

	def test_payment_reversal_from_the_desk(self):
		outcome = apply_payment(self.vehicle.mpesa_account, "400")
		note = new_credit_note("", "Payment reversal", 400, transaction=outcome.transaction).insert()
		self.assertEqual(note.driver, self.driver)  # taken from the transaction
		note.submit()
		self.assertEqual(
			frappe.db.get_value(
				"TukTuk Transaction", outcome.transaction, ["payment_status", "reversed_kes"]
			),
			("Reversed", 400),
		)
		self.assertEqual(driver_balances(self.driver).payout_pending, 0)
		with self.assertRaises(frappe.ValidationError):
			new_credit_note(self.driver, "Payment reversal", 1, transaction=outcome.transaction).insert()
		note.cancel()
		self.assertEqual(
			frappe.db.get_value("TukTuk Transaction", outcome.transaction, "payment_status"), "Completed"
		)
		self.assertEqual(driver_balances(self.driver).payout_pending, 200)
		self.assertTrue(check_books(frappe.db).clean, check_books(frappe.db).as_dict())

	def test_failure_at_each_step_leaves_no_credit_note(self):
		"""As in a request: the submit fails, the request's transaction rolls back (here to a
		savepoint taken before the insert): no document, no ledger line, no balance change."""
		give_deposit(self.driver, 800)
		before = driver_balances(self.driver)
		for step in ("ledger_lines_inserted", "caches_updated", "document_updated"):
			for correction_type, values in (
				("Target waiver", {}),
				("Deposit refund", {"refund_mode": "Pay out by M-Pesa"}),
			):
				frappe.db.savepoint("request")
				note = new_credit_note(self.driver, correction_type, 100, **values)
				note.flags.on_step = fail_at(step)
				with self.assertRaises(Injected, msg=step):
					note.insert()
					note.submit()
				frappe.db.rollback(save_point="request")
				self.assertFalse(frappe.db.exists("TukTuk Credit Note", note.name), step)
				self.assertEqual(ledger_lines(note.name), [], step)
				self.assertEqual(driver_balances(self.driver), before, step)
				self.assertFalse(frappe.db.exists("TukTuk Payout", {"driver": self.driver}), step)
