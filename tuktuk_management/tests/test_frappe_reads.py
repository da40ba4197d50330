"""Frappe's generic reads as a driver: nothing of another driver's rows comes back (DESIGN §7).

Calls the replacements in ``api/frappe_reads.py`` as Frappe's request handler does (the hooks
name them in ``override_whitelisted_methods``) as driver A, with driver B's DocTypes, names and
filters. The same calls over HTTP, for every read Frappe whitelists: scripts/http_row_probe.sh.
"""

from __future__ import annotations

import json

import frappe
import frappe.client
from frappe.desk.form.linked_with import get_submitted_linked_docs
from frappe.desk.search import search_link as frappe_search_link
from frappe.tests.utils import FrappeTestCase

from tuktuk_management import roles
from tuktuk_management.api import frappe_reads
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle
from tuktuk_management.tests.test_roles import as_user, make_user

USERS = {
	"a": ("reads-driver-a@example.com", [roles.DRIVER]),
	"b": ("reads-driver-b@example.com", [roles.DRIVER]),
	"manager": ("reads-manager@example.com", [roles.MANAGER]),
}
B_PAYMENTS = ("7301", "7302", "7303")


class TestFrappeReads(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.users = {key: make_user(email, role_names) for key, (email, role_names) in USERS.items()}
		vehicle_a, vehicle_b = make_vehicle(), make_vehicle()
		cls.a = make_driver(vehicle_a.name, user=cls.users["a"], fare_percentage=50).name
		cls.b = make_driver(vehicle_b.name, user=cls.users["b"], fare_percentage=50).name
		apply_payment(vehicle_a.mpesa_account, "100")
		cls.b_transactions = [
			apply_payment(vehicle_b.mpesa_account, amount).transaction for amount in B_PAYMENTS
		]
		cls.b_note = frappe.get_doc(
			{
				"doctype": "TukTuk Credit Note",
				"correction_type": "Balance adjustment",
				"driver": cls.b,
				"amount": 73,
				"driver_account": "deposit",
				"direction": "Increase",
				"counter_account": "revenue",
				"reason_code": "Goodwill",
			}
		).insert()
		cls.b_note.submit()

	def as_a(self):
		return as_user(self.users["a"])

	def test_hooks_route_frappe_methods_to_the_replacements(self):
		overrides = frappe.get_hooks("override_whitelisted_methods")
		for frappe_path, ours in {
			"frappe.client.get_count": "get_count",
			"frappe.client.validate_link": "validate_link",
			"frappe.desk.search.search_link": "search_link",
			"frappe.desk.search.search_widget": "search_widget",
			"frappe.desk.search.get_link_title": "get_link_title",
			"frappe.desk.listview.get_group_by_count": "get_group_by_count",
			"frappe.desk.doctype.dashboard_chart.dashboard_chart.get": "get_dashboard_chart",
			"frappe.desk.form.linked_with.get_submitted_linked_docs": "get_submitted_linked_docs",
			"frappe.client.get": "get",
		}.items():
			self.assertEqual(overrides[frappe_path][-1], f"tuktuk_management.api.frappe_reads.{ours}")

	def test_frappes_get_count_counts_past_the_row_rules(self):
		# Why the replacement exists: Frappe's own method answers B's count to A.
		with self.as_a():
			count = frappe.client.get_count("TukTuk Transaction", json.dumps({"driver": self.b}))
		self.assertEqual(count, len(B_PAYMENTS))

	def test_get_count_applies_the_row_rules(self):
		with self.as_a():
			for doctype, column in (
				("TukTuk Transaction", "driver"),
				("TukTuk Payout", "driver"),
				("TukTuk Ledger Entry", "party"),
				("TukTuk Driver", "name"),
			):
				self.assertEqual(frappe_reads.get_count(doctype, json.dumps({column: self.b})), 0, doctype)
				self.assertEqual(
					frappe_reads.get_count(
						doctype, json.dumps([[column, "=", self.b], ["creation", ">", "2000-01-01"]])
					),
					0,
				)
			self.assertEqual(
				frappe_reads.get_count("TukTuk Transaction", json.dumps({"amount": [">", 99]})), 1
			)
			self.assertEqual(frappe_reads.get_count("TukTuk Driver"), 1)
			for doctype in ("TukTuk Callback Log", "TukTuk Daily Close", "TukTuk Journal", "TukTuk Vehicle"):
				with self.assertRaises(frappe.PermissionError):
					frappe_reads.get_count(doctype)
		with as_user(self.users["manager"]):
			self.assertEqual(
				frappe_reads.get_count("TukTuk Transaction", json.dumps({"driver": self.b})), len(B_PAYMENTS)
			)

	def test_get_by_filters_answers_another_drivers_row_like_a_missing_one(self):
		matches = json.dumps({"name": self.b, "creation": [">", "2000-01-01"]})
		misses = json.dumps({"name": self.b, "creation": ["<", "2000-01-01"]})
		with self.as_a():
			# Why the replacement exists: Frappe's own method answers yes (PermissionError, naming B's
			# row) or no (DoesNotExistError) to any filter on B's row: B's figures by bisection.
			with self.assertRaises(frappe.PermissionError):
				frappe.client.get("TukTuk Driver", filters=matches)
			with self.assertRaises(frappe.DoesNotExistError):
				frappe.client.get("TukTuk Driver", filters=misses)
			for filters in (matches, misses, json.dumps({"driver": self.b})):
				doctype = "TukTuk Transaction" if "driver" in filters else "TukTuk Driver"
				with self.assertRaises(frappe.DoesNotExistError):
					frappe_reads.get(doctype, filters=filters)
			own = frappe_reads.get("TukTuk Driver", filters=json.dumps({"user": self.users["a"]}))
			self.assertEqual(own["name"], self.a)
			with self.assertRaises(frappe.PermissionError):  # by name: as Frappe (the name is known)
				frappe_reads.get("TukTuk Driver", self.b)
		with as_user(self.users["manager"]):
			self.assertEqual(frappe_reads.get("TukTuk Driver", filters=matches)["name"], self.b)

	def test_validate_link_and_link_title_answer_as_if_b_did_not_exist(self):
		with self.as_a():
			self.assertEqual(
				frappe_reads.validate_link("TukTuk Driver", self.b, json.dumps(["driver_name"])), {}
			)
			self.assertEqual(frappe_reads.validate_link("TukTuk Transaction", self.b_transactions[0]), {})
			self.assertEqual(frappe_reads.validate_link("TukTuk Driver", self.a).get("name"), self.a)
			self.assertEqual(frappe_reads.get_link_title("TukTuk Driver", self.b), self.b)

	def test_search_ignores_the_ignore_user_permissions_flag_for_drivers(self):
		with self.as_a():
			# Frappe's own search with the flag answers B's transactions to A.
			leaked = frappe_search_link(
				"TukTuk Transaction",
				"",
				filters={"driver": self.b},
				ignore_user_permissions=True,
				page_length=50,
			)
			self.assertEqual(len(leaked), len(B_PAYMENTS))
			for ignore in (False, True):
				found = frappe_reads.search_link(
					"TukTuk Transaction", "", filters={"driver": self.b}, ignore_user_permissions=ignore
				)
				self.assertEqual(found, [])
				widget = frappe_reads.search_widget(
					"TukTuk Driver", "", filters={"name": self.b}, ignore_user_permissions=ignore
				)
				self.assertEqual(list(widget), [])

	def test_sidebar_counts_only_own_rows(self):
		with self.as_a():
			counts = frappe_reads.get_group_by_count("TukTuk Transaction", json.dumps({}), "driver")
			self.assertEqual({row["name"] for row in counts}, {self.a})
			self.assertEqual(
				frappe_reads.get_group_by_count(
					"TukTuk Transaction", json.dumps({"driver": self.b}), "assigned_to"
				),
				[],
			)
			with self.assertRaises(frappe.PermissionError):
				frappe_reads.get_group_by_count("TukTuk Callback Log", json.dumps({}), "assigned_to")

	def test_dashboard_charts_are_computed_for_the_driver_and_heatmaps_refused(self):
		chart = {
			"name": "reads-probe",
			"document_type": "TukTuk Transaction",
			"based_on": "timestamp",
			"value_based_on": "amount",
			"timespan": "Last Year",
			"time_interval": "Daily",
			"chart_type": "Sum",
			"type": "Line",
			"filters_json": json.dumps([["TukTuk Transaction", "driver", "=", self.b, False]]),
		}
		with self.as_a():
			figures = frappe_reads.get_dashboard_chart(chart=json.dumps(chart))
			self.assertEqual(sum(figures["datasets"][0]["values"]), 0)
			with self.assertRaises(frappe.PermissionError):
				frappe_reads.get_dashboard_chart(chart=json.dumps({**chart, "type": "Heatmap"}))
			with self.assertRaises(frappe.PermissionError):
				frappe_reads.get_dashboard_chart(chart_name="TukTuk Payouts by Status")

	def test_submitted_linked_documents_of_another_driver_are_refused(self):
		with self.as_a():
			# Frappe's own method lists B's submitted credit note to A.
			leaked = get_submitted_linked_docs("TukTuk Driver", self.b)
			self.assertIn(self.b_note.name, [doc["name"] for doc in leaked["docs"]])
			with self.assertRaises(frappe.PermissionError):
				frappe_reads.get_submitted_linked_docs("TukTuk Driver", self.b)
			self.assertEqual(frappe_reads.get_submitted_linked_docs("TukTuk Driver", self.a)["docs"], [])
