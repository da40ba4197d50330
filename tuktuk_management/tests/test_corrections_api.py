"""The journal and allocation APIs over HTTP (Frappe's WSGI app in its own thread, as
``FrappeAPITestCase`` does): an accountant posts, reads and reverts journals; a user with only
the TukTuk Driver role is refused (403); a manager allocates an unallocated payment once.

Requests commit in their own connection, so the class creates its users and drivers committed
and removes everything it created in ``tearDownClass``.
"""

from __future__ import annotations

import json

import frappe
from frappe.tests.test_api import FrappeAPITestCase
from frappe.utils import now_datetime

from tuktuk_management import roles
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle

API = "tuktuk_management.api"


def make_user(role: str) -> tuple[str, str]:
	"""A committed user with only ``role``; returns ``(email, "token key:secret")``."""
	email = f"{frappe.generate_hash(length=8)}@tuktuk-test.example"
	user = frappe.get_doc(
		{"doctype": "User", "email": email, "first_name": role, "send_welcome_email": 0, "enabled": 1}
	).insert(ignore_permissions=True)
	user.add_roles(role)
	key, secret = frappe.generate_hash(length=15), frappe.generate_hash(length=15)
	user.api_key, user.api_secret = key, secret
	user.save(ignore_permissions=True)
	return email, f"token {key}:{secret}"


class TestCorrectionsAPI(FrappeAPITestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.started = now_datetime()
		cls.accountant, cls.accountant_auth = make_user(roles.ACCOUNTANT)
		cls.manager, cls.manager_auth = make_user(roles.MANAGER)
		cls.driver_user, cls.driver_auth = make_user(roles.DRIVER)
		cls.vehicle = make_vehicle()
		cls.first = make_driver(cls.vehicle.name).name
		cls.second = make_driver().name
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		journals = frappe.db.sql_list(
			"select name from `tabTukTuk Journal` where creation >= %s", cls.started
		)
		transactions = frappe.db.sql_list(
			"select name from `tabTukTuk Transaction` where creation >= %s", cls.started
		)
		for voucher_type, names in (("TukTuk Journal", journals), ("TukTuk Transaction", transactions)):
			if names:
				frappe.db.sql(
					"delete from `tabTukTuk Ledger Entry` where voucher_type = %s and voucher_no in %s",
					(voucher_type, names),
				)
		if journals:
			frappe.db.sql("delete from `tabTukTuk Journal Line` where parent in %s", (journals,))
			frappe.db.sql("delete from `tabTukTuk Journal` where name in %s", (journals,))
		if transactions:
			frappe.db.sql("delete from `tabTukTuk Payout` where transaction in %s", (transactions,))
			frappe.db.sql("delete from `tabTukTuk Transaction` where name in %s", (transactions,))
		frappe.db.sql("delete from `tabTukTuk Driver` where name in %s", ((cls.first, cls.second),))
		frappe.db.sql("delete from `tabTukTuk Vehicle` where name = %s", cls.vehicle.name)
		for user in (cls.accountant, cls.manager, cls.driver_user):
			frappe.delete_doc("User", user, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDownClass()

	def call(self, method: str, body: dict, auth: str, http: str = "post"):
		path = self.method(f"{API}.{method}")
		if http == "get":
			return self.get(path, body, headers={"Authorization": auth})
		return self.post(path, body, headers={"Authorization": auth})

	def balances(self, driver: str) -> tuple[int, int]:
		frappe.db.rollback()  # a fresh snapshot: the requests committed in their own connection
		deposit, payable = frappe.db.get_value(
			"TukTuk Driver", driver, ["current_deposit_balance", "payout_pending"]
		)
		return int(deposit), int(payable)

	def journal_body(self, key: str, amount_kes: int = 300) -> dict:
		return {
			"idempotency_key": key,
			"remarks": "move deposit",
			"lines": [
				{"account": "suspense", "debit": amount_kes},
				{"account": "deposit", "driver": self.first, "credit": amount_kes},
			],
		}

	def test_accountant_validates_posts_gets_and_reverts_a_journal(self):
		key = "api-" + frappe.generate_hash(length=10)
		before = self.balances(self.first)

		dry = self.call("journal.validate_journal", self.journal_body(key), self.accountant_auth)
		self.assertEqual(dry.status_code, 200, dry.text)
		self.assertTrue(dry.json["message"]["valid"], dry.json)
		unbalanced = self.journal_body(key)
		unbalanced["lines"][0]["debit"] = 299
		dry = self.call("journal.validate_journal", unbalanced, self.accountant_auth)
		self.assertFalse(dry.json["message"]["valid"])
		self.assertEqual(self.balances(self.first), before)  # a dry run writes nothing

		posted = self.call("journal.post_journal", self.journal_body(key), self.accountant_auth)
		self.assertEqual(posted.status_code, 200, posted.text)
		result = posted.json["message"]
		self.assertEqual((result["status"], result["total_kes"], result["replayed"]), ("Posted", 300, False))
		self.assertEqual(self.balances(self.first), (before[0] + 300, before[1]))

		replay = self.call("journal.post_journal", self.journal_body(key), self.accountant_auth)
		self.assertEqual(replay.status_code, 200, replay.text)
		self.assertEqual(replay.json["message"]["journal"], result["journal"])
		self.assertTrue(replay.json["message"]["replayed"])
		conflict = self.call("journal.post_journal", self.journal_body(key, 301), self.accountant_auth)
		self.assertEqual(conflict.status_code, 409, conflict.text)
		self.assertEqual(self.balances(self.first), (before[0] + 300, before[1]))  # posted once

		fetched = self.call("journal.get_journal", {"journal": key}, self.accountant_auth, http="get")
		self.assertEqual(fetched.status_code, 200, fetched.text)
		self.assertEqual(len(fetched.json["message"]["lines"]), 2)

		reverted = self.call("journal.revert_journal", {"journal": result["journal"]}, self.accountant_auth)
		self.assertEqual(reverted.status_code, 200, reverted.text)
		self.assertEqual(reverted.json["message"]["status"], "Reverted")
		self.assertEqual(self.balances(self.first), before)
		again = self.call("journal.revert_journal", {"journal": result["journal"]}, self.accountant_auth)
		self.assertEqual(again.status_code, 409, again.text)
		self.assertEqual(self.balances(self.first), before)
		self.assertTrue(check_books(frappe.db).clean, check_books(frappe.db).as_dict())

	def test_overdraft_is_refused_unless_the_line_allows_it(self):
		body = {
			"idempotency_key": "api-" + frappe.generate_hash(length=10),
			"lines": [
				{"account": "deposit", "driver": self.second, "debit": 50},
				{"account": "revenue", "credit": 50},
			],
		}
		refused = self.call("journal.post_journal", body, self.accountant_auth)
		self.assertEqual(refused.status_code, 417, refused.text)
		self.assertIn("below zero", refused.text)
		self.assertEqual(self.balances(self.second), (0, 0))
		body["lines"][0]["allow_overdraft"] = "true"
		allowed = self.call("journal.post_journal", body, self.accountant_auth)
		self.assertEqual(allowed.status_code, 200, allowed.text)
		self.assertEqual(self.balances(self.second), (-50, 0))
		reverted = self.call(
			"journal.revert_journal", {"journal": allowed.json["message"]["journal"]}, self.accountant_auth
		)
		self.assertEqual(reverted.status_code, 200, reverted.text)
		self.assertEqual(self.balances(self.second), (0, 0))

	def test_a_driver_is_refused(self):
		key = "api-" + frappe.generate_hash(length=10)
		for method, http in (
			("journal.validate_journal", "post"),
			("journal.post_journal", "post"),
			("journal.get_journal", "get"),
			("journal.revert_journal", "post"),
		):
			body = self.journal_body(key) if "validate" in method or "post" in method else {"journal": key}
			response = self.call(method, body, self.driver_auth, http=http)
			self.assertEqual(response.status_code, 403, f"{method}: {response.text}")
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("TukTuk Journal", {"idempotency_key": key}))
		refused = self.call(
			"corrections.allocate_payment",
			{"transaction": "NOPE000001", "driver": self.first},
			self.accountant_auth,
		)
		self.assertEqual(refused.status_code, 403, refused.text)  # allocation is for managers

	def test_manager_allocates_an_unallocated_payment_once(self):
		outcome = apply_payment("NO-SUCH-ACCOUNT", "400")
		frappe.db.commit()
		self.assertEqual(
			frappe.db.get_value("TukTuk Transaction", outcome.transaction, "payment_status"), "Unallocated"
		)
		before = self.balances(self.first)
		allocated = self.call(
			"corrections.allocate_payment",
			{"transaction": outcome.transaction, "vehicle": self.vehicle.name},
			self.manager_auth,
		)
		self.assertEqual(allocated.status_code, 200, allocated.text)
		result = allocated.json["message"]
		self.assertEqual(result["driver"], self.first)
		self.assertEqual(result["target_contribution_kes"] + result["driver_share_kes"], 400)
		self.assertEqual(self.balances(self.first)[1], before[1] + result["driver_share_kes"])
		self.assertEqual(frappe.db.get_value("TukTuk Payout", result["payout"], "status"), "Queued")
		self.assertEqual(
			frappe.db.get_value("TukTuk Transaction", outcome.transaction, "payment_status"), "Allocated"
		)
		twice = self.call(
			"corrections.allocate_payment",
			{"transaction": outcome.transaction, "driver": self.second},
			self.manager_auth,
		)
		self.assertEqual(twice.status_code, 409, twice.text)
		self.assertEqual(self.balances(self.second), (0, 0))
		self.assertTrue(check_books(frappe.db).clean, check_books(frappe.db).as_dict())

	def test_missed_payment_is_recorded_once(self):
		trans_id = "MS" + frappe.generate_hash(length=8).upper()
		body = {
			"trans_id": trans_id,
			"amount": 200,
			"account": self.vehicle.mpesa_account,
			"trans_time": "20261121121325",
		}
		first = self.call("corrections.record_missed_payment", body, self.manager_auth)
		self.assertEqual(first.status_code, 200, first.text)
		self.assertEqual(first.json["message"]["status"], "Processed")
		again = self.call("corrections.record_missed_payment", body, self.manager_auth)
		self.assertEqual(again.json["message"]["status"], "Duplicate")
		conflict = self.call("corrections.record_missed_payment", {**body, "amount": 201}, self.manager_auth)
		self.assertEqual(conflict.status_code, 409, conflict.text)
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("TukTuk Transaction", {"name": trans_id}), 1)

	def test_manager_submits_and_cancels_a_credit_note_as_the_desk_does(self):
		"""The desk's own calls: savedocs (Save, then Submit) and cancel, each its own request."""
		auth = {"Authorization": self.manager_auth}
		savedocs = self.method("frappe.desk.form.save.savedocs")
		draft = {
			"doctype": "TukTuk Credit Note",
			"name": "new-tuktuk-credit-note-1",
			"__islocal": 1,
			"docstatus": 0,
			"correction_type": "Target waiver",
			"driver": self.second,
			"amount": 100,
		}
		saved = self.post(savedocs, {"doc": json.dumps(draft), "action": "Save"}, headers=auth)
		self.assertEqual(saved.status_code, 200, saved.text)
		doc = saved.json["docs"][0]
		submitted = self.post(savedocs, {"doc": json.dumps(doc), "action": "Submit"}, headers=auth)
		self.assertEqual(submitted.status_code, 200, submitted.text)
		self.assertEqual(submitted.json["docs"][0]["target_kes"], 100)

		def lines():
			frappe.db.rollback()
			return frappe.get_all(
				"TukTuk Ledger Entry",
				filters={"voucher_type": "TukTuk Credit Note", "voucher_no": doc["name"]},
				fields=["account", "debit", "credit", "is_reversal"],
				order_by="is_reversal asc, account asc",
			)

		self.assertEqual(
			[(r.account, int(r.debit), int(r.credit), r.is_reversal) for r in lines()],
			[("revenue", 100, 0, 0), ("target", 0, 100, 0)],
		)
		target = frappe.db.get_value("TukTuk Driver", self.second, "current_balance")
		self.assertEqual(target, 100)
		cancelled = self.post(
			self.method("frappe.desk.form.save.cancel"),
			{"doctype": "TukTuk Credit Note", "name": doc["name"]},
			headers=auth,
		)
		self.assertEqual(cancelled.status_code, 200, cancelled.text)
		self.assertEqual(len(lines()), 4)
		self.assertEqual(frappe.db.get_value("TukTuk Driver", self.second, "current_balance"), 0)
		self.assertEqual(frappe.db.get_value("TukTuk Credit Note", doc["name"], "docstatus"), 2)
		refused = self.post(
			savedocs,
			{"doc": json.dumps(draft), "action": "Save"},
			headers={"Authorization": self.accountant_auth},
		)
		self.assertEqual(refused.status_code, 403, refused.text)  # accountants read credit notes only
		self.assertTrue(check_books(frappe.db).clean, check_books(frappe.db).as_dict())
