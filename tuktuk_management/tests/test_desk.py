"""The desk in a bench: the TukTuk workspace, its number cards and charts, the four script
reports and the driver form's overview load and return the figures of a seeded fleet.

The fleet is seeded in ``setUpClass`` by replaying payments through the ledger core in the
test's transaction (rolled back after the class). The site may hold other rows, so fleet-wide
figures are checked as changes from a baseline read before seeding.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import frappe
from frappe.desk.desktop import get_desktop_page
from frappe.desk.doctype.dashboard_chart.dashboard_chart import get as get_chart
from frappe.desk.doctype.number_card.number_card import get_result as number_card_result
from frappe.desk.query_report import run as run_report
from frappe.tests.utils import FrappeTestCase
from frappe.utils import nowdate

from tuktuk_management.api import dashboard
from tuktuk_management.ledger.statement import cached_balances_kes
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle
from tuktuk_management.tuktuk_management.report.driver_statement import driver_statement

SETTINGS = "TukTuk Settings"
WORKSPACE = "TukTuk"


def trans_time_now() -> str:
	"""Now as Daraja's ``TransTime`` (EAT), so the payments fall on today's business date."""
	return datetime.now(ZoneInfo("Africa/Nairobi")).strftime("%Y%m%d%H%M%S")


def card_value(result):
	return result["value"] if isinstance(result, dict) else result


class TestDesk(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		frappe.db.set_single_value(SETTINGS, {"global_daily_target": 3000, "global_fare_percentage": 50})
		cls.before = {
			name: card_value(frappe.get_attr(f"tuktuk_management.api.dashboard.{name}")())
			for name in ("todays_collections", "drivers_on_target", "drivers_behind_target")
		}
		cls.unallocated_before = frappe.db.count("TukTuk Transaction", {"payment_status": "Unallocated"})
		cls.vehicles = [make_vehicle() for _ in range(3)]
		cls.drivers = [
			make_driver(cls.vehicles[0].name, daily_target=200),  # meets its target
			make_driver(cls.vehicles[1].name),
			make_driver(cls.vehicles[2].name),
		]
		when = trans_time_now()
		cls.paid_kes = 0
		for vehicle, amounts in zip(cls.vehicles, ([300, 500], [1000], [400, 100]), strict=True):
			for amount in amounts:
				outcome = apply_payment(vehicle.mpesa_account, str(amount), TransTime=when)
				assert outcome.status == "Processed", outcome
				cls.paid_kes += amount
		outcome = apply_payment("NO-SUCH-ACCOUNT", "250", TransTime=when)
		assert outcome.status == "Unallocated", outcome
		cls.paid_kes += 250
		cls.suspense_transaction = outcome.transaction

	def test_workspace_ships_and_loads_its_blocks(self):
		page = get_desktop_page(json.dumps({"name": WORKSPACE, "title": WORKSPACE, "public": 1}))
		self.assertEqual(len(page["number_cards"]["items"]), 8)
		self.assertEqual(len(page["charts"]["items"]), 3)
		self.assertEqual(
			{item["link_to"] for item in page["shortcuts"]["items"]},
			{
				"TukTuk Driver",
				"TukTuk Vehicle",
				"TukTuk Transaction",
				"TukTuk Payout",
				"Driver Statement",
				"Daily Collections",
				"Unallocated Payments",
				"Payout Monitor",
				"Balance Reconciliation",
				"TukTuk Reconciliation Run",
			},
		)
		self.assertTrue(page["cards"]["items"])

	def test_managers_and_accountants_see_every_card_and_chart(self):
		for role in ("TukTuk Manager", "TukTuk Accountant"):
			user = frappe.get_doc(
				{
					"doctype": "User",
					"email": f"desk-{frappe.generate_hash(length=6)}@example.com",
					"first_name": role,
					"send_welcome_email": 0,
					"roles": [{"role": role}],
				}
			).insert(ignore_permissions=True)
			frappe.set_user(user.name)
			try:
				page = get_desktop_page(json.dumps({"name": WORKSPACE, "title": WORKSPACE, "public": 1}))
				self.assertEqual(len(page["number_cards"]["items"]), 8, role)
				self.assertEqual(len(page["charts"]["items"]), 3, role)
				self.assertGreaterEqual(card_value(dashboard.drivers_on_target()), 1, role)
				result = run_report(
					"Daily Collections", filters={"from_date": nowdate(), "to_date": nowdate()}
				)
				self.assertTrue(result["result"], role)
			finally:
				frappe.set_user("Administrator")

	def test_number_cards_show_the_seeded_day(self):
		workspace = frappe.get_doc("Workspace", WORKSPACE)
		values = {}
		for row in workspace.number_cards:
			card = frappe.get_doc("Number Card", row.number_card_name)
			if card.type == "Custom":
				values[card.name] = card_value(frappe.get_attr(card.method)(filters=None))
			else:
				values[card.name] = number_card_result(card.as_dict(), card.filters_json)
		self.assertEqual(
			values["TukTuk Collections Today"] - self.before["todays_collections"], self.paid_kes
		)
		self.assertEqual(values["TukTuk Drivers on Target"] - self.before["drivers_on_target"], 1)
		self.assertEqual(values["TukTuk Drivers Behind Target"] - self.before["drivers_behind_target"], 2)
		self.assertEqual(values["TukTuk Unallocated Payments"], self.unallocated_before + 1)
		self.assertRegex(values["TukTuk Target Collected vs Due"], r"^[\d,]+ of [\d,]+ \(\d+%\)$")
		self.assertIsInstance(values["TukTuk Payouts Needing Attention"], int)
		self.assertTrue(values["TukTuk Last Reconciliation"])

	def test_charts_return_today(self):
		today_label = frappe.format(nowdate(), "Date")
		collections = dashboard.daily_collections_chart()
		self.assertEqual(len(collections["labels"]), dashboard.CHART_DAYS)
		self.assertEqual(collections["labels"][-1], today_label)
		today_total = sum(dataset["values"][-1] for dataset in collections["datasets"])
		self.assertGreaterEqual(today_total, self.paid_kes)
		attainment = dashboard.target_attainment_chart()
		self.assertEqual(attainment["labels"][-1], today_label)
		self.assertGreater(float(attainment["datasets"][0]["values"][-1]), 0)
		payouts = get_chart(chart_name="TukTuk Payouts by Status", refresh=1)
		self.assertIn("Queued", payouts["labels"])
		for name in ("TukTuk Daily Collections", "TukTuk Target Attainment"):
			chart = frappe.get_doc("Dashboard Chart", name)
			self.assertTrue(frappe.db.exists("Dashboard Chart Source", chart.source))

	def test_driver_statement_running_balance_matches_cached_balances(self):
		for driver in self.drivers:
			result = run_report("Driver Statement", filters={"driver": driver.name, "to_date": nowdate()})
			rows = result["result"]
			self.assertEqual(rows[0]["account"], "Opening")
			self.assertEqual(rows[-1]["account"], "Closing")
			closing = {
				account: rows[-1][f"{account}_balance"] for account in ("target", "deposit", "payable")
			}
			self.assertEqual(closing, cached_balances_kes(frappe.db, driver.name))
			self.assertGreater(closing["target"], 0)
			self.assertEqual(result["report_summary"][-1]["indicator"], "Green")

	def test_driver_statement_is_limited_to_the_drivers_own(self):
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": f"driver-{frappe.generate_hash(length=6)}@example.com",
				"first_name": "Driver",
				"send_welcome_email": 0,
				"roles": [{"role": "TukTuk Driver"}],
			}
		).insert(ignore_permissions=True)
		has_user_field = frappe.get_meta("TukTuk Driver").has_field("user")
		if has_user_field:
			frappe.db.set_value("TukTuk Driver", self.drivers[0].name, "user", user.name)
		frappe.set_user(user.name)
		try:
			if not has_user_field:
				with self.assertRaises(frappe.DoesNotExistError):
					driver_statement.execute({})
				return
			with self.assertRaises(frappe.PermissionError):
				driver_statement.execute({"driver": self.drivers[1].name})
			with self.assertRaises(frappe.PermissionError):
				dashboard.driver_statement(self.drivers[1].name)
			_columns, rows, *_ = driver_statement.execute({})
			self.assertEqual(rows[-1]["target_balance"], 200)
			own = dashboard.driver_statement()
			self.assertEqual(own["driver"], self.drivers[0].name)
			self.assertEqual(own["closing_kes"], cached_balances_kes(frappe.db, self.drivers[0].name))
			self.assertEqual(own["closing_kes"]["target"], 200)
			frappe.set_user("Administrator")
			unlinked = frappe.get_doc(
				{
					"doctype": "User",
					"email": f"driver-{frappe.generate_hash(length=6)}@example.com",
					"first_name": "Unlinked",
					"send_welcome_email": 0,
					"roles": [{"role": "TukTuk Driver"}],
				}
			).insert(ignore_permissions=True)
			frappe.set_user(unlinked.name)
			with self.assertRaises(frappe.DoesNotExistError):
				dashboard.driver_statement()
		finally:
			frappe.set_user("Administrator")

	def test_daily_collections_report_adds_up(self):
		result = run_report("Daily Collections", filters={"from_date": nowdate(), "to_date": nowdate()})
		rows = [row for row in result["result"] if isinstance(row, dict)]  # not the total row (a list)
		ours = [row for row in rows if row.get("driver") in {d.name for d in self.drivers}]
		self.assertEqual(sum(row["amount"] for row in ours), self.paid_kes - 250)
		for row in ours:
			self.assertEqual(row["amount"], row["target_contribution"] + row["driver_share"])
		self.assertTrue(result["chart"]["data"]["datasets"])

	def test_unallocated_payments_and_payout_monitor_reports(self):
		unallocated = run_report("Unallocated Payments", filters={})
		rows = [row for row in unallocated["result"] if isinstance(row, dict)]  # not the total row
		self.assertIn(self.suspense_transaction, [row["transaction"] for row in rows])
		monitor = run_report("Payout Monitor", filters={"status": "Queued"})
		payouts = {row["driver"] for row in monitor["result"]}
		self.assertTrue({d.name for d in self.drivers} <= payouts)
		attention = run_report("Payout Monitor", filters={})
		self.assertTrue(all(row["status"] != "Paid" for row in attention["result"]))

	def test_driver_overview_for_the_form(self):
		overview = dashboard.driver_overview(self.drivers[1].name)
		self.assertEqual(overview["target_kes"], 3000 + (overview["rollover_kes"] or 0))
		self.assertEqual(overview["collected_kes"], 500)
		self.assertEqual(overview["payable_kes"], 500)
		self.assertEqual([p["amount_kes"] for p in overview["latest_payments"]], [1000])
		self.assertIn("run_reconciliation", overview["actions"])

	def test_fleet_figures_need_a_manager_or_accountant(self):
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": f"nobody-{frappe.generate_hash(length=6)}@example.com",
				"first_name": "Nobody",
				"send_welcome_email": 0,
			}
		).insert(ignore_permissions=True)
		frappe.set_user(user.name)
		try:
			with self.assertRaises(frappe.PermissionError):
				dashboard.todays_collections()
			with self.assertRaises(frappe.PermissionError):
				dashboard.driver_overview(self.drivers[0].name)
		finally:
			frappe.set_user("Administrator")


class TestMissLimitRule(FrappeTestCase):
	"""The desk reads ``miss_limit`` as the daily close does: 0 means no alert (it was read as 3)."""

	def test_a_miss_limit_of_0_turns_the_desk_alert_off(self):
		frappe.set_user("Administrator")
		before = frappe.db.get_single_value(SETTINGS, "miss_limit")
		self.addCleanup(frappe.db.set_single_value, SETTINGS, "miss_limit", before)
		frappe.db.set_single_value(SETTINGS, "miss_limit", 0)
		driver = make_driver(make_vehicle().name)
		frappe.db.set_value("TukTuk Driver", driver.name, "consecutive_misses", 9)
		self.assertEqual(dashboard.miss_limit(), 0)
		self.assertEqual(dashboard.context_for_user()["miss_limit"], 0)
		self.assertEqual(card_value(dashboard.drivers_at_miss_limit()), 0)
		frappe.db.set_single_value(SETTINGS, "miss_limit", 2)
		self.assertEqual(dashboard.miss_limit(), 2)
		self.assertGreaterEqual(card_value(dashboard.drivers_at_miss_limit()), 1)


class TestSampleDayHelpers(FrappeTestCase):
	def test_trans_time_moves_to_today_and_other_bodies_stay(self):
		from tuktuk_management.demo import console_bool, moved_to_today

		body = json.dumps({"TransID": "X", "TransTime": "20261121101626"})
		self.assertEqual(json.loads(moved_to_today(body, "20270102"))["TransTime"], "20270102101626")
		for untouched in ("not json", json.dumps({"TransTime": "bad"}), json.dumps([1])):
			self.assertEqual(moved_to_today(untouched, "20270102"), untouched)
		self.assertFalse(console_bool("false"))
		self.assertFalse(console_bool(0))
		self.assertTrue(console_bool("1"))
		with self.assertRaises(frappe.ValidationError):
			console_bool("maybe")
