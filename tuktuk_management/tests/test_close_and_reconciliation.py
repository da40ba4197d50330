"""Daily close and reconciliation in a real v15 site: the scheduled jobs, the close chunk job,
reconciliation with its run record, alert email in the Email Queue and desk notification, the
script report, the console calls' keys, the whitelisted method and the bench command.

These flows commit (each close and each run is its own unit of work), so every test removes
what it created in ``tearDown``.
"""

from __future__ import annotations

import email
import json
import shutil
import subprocess
from datetime import timedelta

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, get_bench_path, now_datetime

from tuktuk_management import tasks
from tuktuk_management.api import tuktuk
from tuktuk_management.api.reconciliation import execute_reconciliation, run_reconciliation
from tuktuk_management.ledger.close import close_name
from tuktuk_management.tests.factories import apply_payment, delete_test_rows, make_driver, make_vehicle
from tuktuk_management.tuktuk_management.report.balance_reconciliation import balance_reconciliation

RECIPIENT = "tuktuk-ops@example.com"
SCHEDULED = {
	"tuktuk_management.tasks.run_due_daily_close",
	"tuktuk_management.tasks.run_due_reconciliation",
	"tuktuk_management.tasks.process_pending_callbacks",
}


def email_text(message: str) -> str:
	"""The decoded text of a queued MIME message (bodies are quoted-printable encoded)."""
	parsed = email.message_from_string(message)
	parts = parsed.walk() if parsed.is_multipart() else [parsed]
	return "\n".join(
		(part.get_payload(decode=True) or b"").decode("utf-8", "replace")
		for part in parts
		if part.get_content_maintype() == "text"
	)


def queued_emails(**filters) -> list[frappe._dict]:
	rows = frappe.get_all("Email Queue", filters=filters, fields=["name", "message"])
	for row in rows:
		row.text = email_text(row.message)
	return rows


def miss_limit_emails(since) -> list[frappe._dict]:
	"""The miss-limit alert emails queued since ``since`` (they reference a driver, as the new-driver
	alert does)."""
	return [
		row
		for row in queued_emails(reference_doctype="TukTuk Driver", creation=(">=", since))
		if "miss limit" in row.text
	]


class TestCloseAndReconciliation(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		# The alerts go through the Email Queue, which needs a default outgoing account.
		cls.email_account = None
		if not frappe.db.exists("Email Account", {"default_outgoing": 1, "enable_outgoing": 1}):
			cls.email_account = (
				frappe.get_doc(
					{
						"doctype": "Email Account",
						"email_account_name": "TukTuk Test Outgoing",
						"email_id": "tuktuk-test@example.com",
						"enable_outgoing": 1,
						"default_outgoing": 1,
						"smtp_server": "localhost",
						"no_smtp_authentication": 1,
					}
				)
				.insert(ignore_permissions=True)
				.name
			)
			frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		if cls.email_account:
			frappe.delete_doc("Email Account", cls.email_account, force=True, ignore_permissions=True)
			frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		self.since = now_datetime()
		self.drivers, self.vehicles = [], []
		frappe.db.set_single_value("TukTuk Settings", "reconciliation_recipients", RECIPIENT)
		frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()
		if self.drivers:  # close vouchers (both sides), then the closes
			frappe.db.sql(
				"delete from `tabTukTuk Ledger Entry` where voucher_type = 'TukTuk Daily Close' "
				"and voucher_no in (select name from `tabTukTuk Daily Close` where driver in %s)",
				(self.drivers,),
			)
			frappe.db.sql("delete from `tabTukTuk Daily Close` where driver in %s", (self.drivers,))
		frappe.db.sql(
			"delete from `tabTukTuk Reconciliation Discrepancy` where creation >= %s", (self.since,)
		)
		frappe.db.sql("delete from `tabTukTuk Reconciliation Run` where creation >= %s", (self.since,))
		frappe.db.sql("delete from `tabEmail Queue` where creation >= %s", (self.since,))
		frappe.db.sql("delete from `tabNotification Log` where creation >= %s", (self.since,))
		delete_test_rows(self.since, self.drivers, self.vehicles)
		frappe.db.set_single_value("TukTuk Settings", "reconciliation_recipients", "")
		frappe.db.commit()

	def committed_driver(self, **values):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name, **values)
		self.vehicles.append(vehicle.name)
		self.drivers.append(driver.name)
		frappe.db.commit()
		return vehicle, driver

	def test_scheduled_jobs_are_registered(self):
		registered = set(frappe.get_all("Scheduled Job Type", pluck="method"))
		self.assertTrue(SCHEDULED <= registered, SCHEDULED - registered)
		every_minute = frappe.get_all(
			"Scheduled Job Type",
			filters={"method": ("like", "tuktuk_management.tasks.run_due_%")},
			pluck="cron_format",
		)
		self.assertEqual(every_minute, ["* * * * *", "* * * * *"])

	def test_close_chunk_job_closes_the_day_and_alerts_at_the_miss_limit(self):
		vehicle, driver = self.committed_driver(daily_target=1000, fare_percentage=50)
		apply_payment(vehicle.mpesa_account, "400")  # company 200
		frappe.db.commit()
		frappe.db.set_single_value("TukTuk Settings", "miss_limit", 1)
		frappe.db.commit()
		today = now_datetime().date()
		frappe.cache().delete_value(f"tuktuk_management:miss_limit_alert:{today.isoformat()}")
		try:
			summary = tasks.close_day_chunk(today.isoformat())
			self.assertTrue(summary["done"])
			close = frappe.get_doc("TukTuk Daily Close", close_name(driver.name, today))
			self.assertEqual(
				(
					close.target_kes,
					close.collected_kes,
					close.shortfall_kes,
					close.rollover_kes,
					close.target_met,
				),
				(1000, 200, 800, 800, 0),
			)
			driver.reload()
			self.assertEqual(
				(driver.current_balance, driver.target_rollover, driver.consecutive_misses), (0, 800, 1)
			)
			self.assertEqual(str(driver.last_close_date), today.isoformat())
			self.assertEqual(driver.left_to_target, 1800)
			# The alert opens the driver's form, where the Terminate action is.
			alert = miss_limit_emails(self.since)
			self.assertEqual(len(alert), 1, "one miss-limit alert email queued")
			self.assertIn("miss limit", alert[0].text)
			self.assertIn(f"/app/tuktuk-driver/{driver.name}", alert[0].text)
			self.assertIn(driver.name, alert[0].text)
			self.assertNotIn("254700000000", alert[0].text)
			self.assertTrue(
				frappe.db.exists("Notification Log", {"creation": (">=", self.since), "type": "Alert"})
			)
			again = tasks.close_day_chunk(today.isoformat())
			self.assertEqual(again["drivers_closed"], 0)
			self.assertEqual(  # one alert per business date
				len(miss_limit_emails(self.since)), 1
			)
			self.assertEqual(frappe.db.count("TukTuk Daily Close", {"driver": driver.name}), 1)
		finally:
			frappe.db.set_single_value("TukTuk Settings", "miss_limit", 3)
			frappe.cache().delete_value(f"tuktuk_management:miss_limit_alert:{today.isoformat()}")
			frappe.db.commit()

	def test_run_due_daily_close_honours_the_close_time(self):
		self.committed_driver()  # created today: due for today's close, not yesterday's
		now = now_datetime()
		today, yesterday = str(now.date()), str(add_days(now.date(), -1))
		try:
			if now.time().hour < 23:
				later = (now + timedelta(minutes=30)).time().strftime("%H:%M:%S")
				frappe.db.set_single_value("TukTuk Settings", "daily_close_time", later)
				# before the close time the due date is yesterday (today's close has not come yet)
				self.assertIn(tasks.run_due_daily_close(), (None, yesterday))
				frappe.cache().delete_value(tasks._close_chain_key(yesterday))
			frappe.db.set_single_value("TukTuk Settings", "daily_close_time", "00:00:00")
			self.assertEqual(tasks.run_due_daily_close(), today)
			self.assertIsNone(tasks.run_due_daily_close())  # a chain for today is already under way
		finally:
			frappe.db.rollback()  # enqueue_after_commit: the jobs are never queued
			for day in (today, yesterday):
				frappe.cache().delete_value(tasks._close_chain_key(day))

	def test_drift_found_emailed_fixed_and_clean(self):
		vehicle, driver = self.committed_driver()
		apply_payment(vehicle.mpesa_account, "1000")
		frappe.db.sql(
			"update `tabTukTuk Driver` set current_balance = current_balance + 11 where name = %s",
			driver.name,
		)
		frappe.db.commit()

		found = run_reconciliation(fix="false", driver=driver.name)
		self.assertEqual((found["status"], found["exit_code"]), ("Drift Found", 1))
		self.assertEqual(
			[(d["driver"], d["field"], d["difference"]) for d in found["discrepancies"]],
			[(driver.name, "current_balance", 11)],
		)
		run = frappe.get_doc("TukTuk Reconciliation Run", found["run"])
		self.assertEqual(
			(run.triggered_by, run.fix_requested, len(run.discrepancies)), ("Administrator", 0, 1)
		)
		queued = queued_emails(reference_name=found["run"])
		self.assertEqual(len(queued), 1)
		self.assertIn(driver.name, queued[0].text)
		self.assertIn("<table", queued[0].text)
		self.assertNotIn("254700000000", queued[0].text)
		recipients = frappe.get_all(
			"Email Queue Recipient", filters={"parent": queued[0].name}, pluck="recipient"
		)
		self.assertEqual(recipients, [RECIPIENT])
		self.assertTrue(frappe.db.exists("Notification Log", {"document_name": found["run"]}))

		fixed = run_reconciliation(fix="1", driver=driver.name)
		self.assertEqual((fixed["status"], fixed["exit_code"]), ("Fixed", 1))
		self.assertEqual(frappe.db.get_value("TukTuk Driver", driver.name, "current_balance"), 500)
		clean = execute_reconciliation(fix=False, driver=driver.name, triggered_by="test")
		self.assertEqual(clean.report.discrepancies, [])

		with self.assertRaises(frappe.ValidationError):
			run_reconciliation(fix="maybe")
		with self.assertRaises(frappe.ValidationError):
			run_reconciliation(driver="D999999X")

	def test_run_reconciliation_is_for_managers_only(self):
		user = "tuktuk-accountant-test@example.com"
		if not frappe.db.exists("User", user):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": user,
					"first_name": "Acc",
					"roles": [{"role": "TukTuk Accountant"}],
				}
			).insert(ignore_permissions=True)
		frappe.set_user(user)
		in_test = frappe.flags.in_test
		frappe.flags.in_test = False  # only_for() lets every test through otherwise
		try:
			with self.assertRaises(frappe.PermissionError):
				run_reconciliation()
			with self.assertRaises(frappe.PermissionError):
				tuktuk.reconcile_all_drivers_balances()
		finally:
			frappe.flags.in_test = in_test
			frappe.set_user("Administrator")

	def test_console_calls_keep_their_documented_keys(self):
		vehicle, driver = self.committed_driver()
		apply_payment(vehicle.mpesa_account, "300")
		frappe.db.sql(
			"update `tabTukTuk Driver` set current_balance = current_balance - 5 where name = %s", driver.name
		)
		frappe.db.commit()

		one = tuktuk.reconcile_driver_balance(driver.name)
		self.assertEqual(
			set(one),
			{"driver_name", "driver", "old_balance", "calculated_balance", "discrepancy", "transactions_count",
				"from_datetime", "message"},
		)  # fmt: skip
		self.assertEqual(
			(one["driver_name"], one["driver"], one["old_balance"], one["calculated_balance"]),
			(driver.name, driver.driver_name, 145, 150),
		)
		self.assertEqual((one["discrepancy"], one["transactions_count"]), (-5, 1))
		dated = tuktuk.reconcile_driver_balance(driver.name, date=str(now_datetime().date()))
		self.assertEqual(dated["transactions_count"], 1)

		dry = tuktuk.fix_driver_balance(driver.name, auto_fix="false")
		self.assertEqual(
			set(dry),
			{"success", "message", "driver_name", "driver", "old_balance", "new_balance", "adjustment",
				"transactions_count", "fixed"},
		)  # fmt: skip
		self.assertEqual((dry["old_balance"], dry["new_balance"], dry["adjustment"]), (145, 145, 0))
		self.assertIs(dry["fixed"], False)
		self.assertIs(tuktuk.fix_driver_balance(driver.name)["fixed"], False)  # auto_fix defaults to False

		everyone = tuktuk.reconcile_all_drivers_balances(auto_fix="false")
		self.assertEqual(
			set(everyone),
			{"success", "total_drivers", "drivers_checked", "drivers_with_discrepancies",
				"total_discrepancy_amount", "auto_fixed", "results"},
		)  # fmt: skip
		mine = [r for r in everyone["results"] if r["driver_name"] == driver.name]
		self.assertEqual(
			mine,
			[
				{
					"driver_name": driver.name,
					"driver": driver.driver_name,
					"old_balance": 145,
					"calculated_balance": 150,
					"discrepancy": -5,
					"fixed": False,
				}
			],
		)
		self.assertIs(everyone["auto_fixed"], False)

		fixed = tuktuk.fix_driver_balance(driver.name, auto_fix=True)
		self.assertEqual((fixed["success"], fixed["old_balance"], fixed["new_balance"]), (True, 145, 150))
		self.assertEqual(fixed["adjustment"], -5)  # old - new
		comment = frappe.get_all(
			"Comment",
			filters={
				"reference_doctype": "TukTuk Driver",
				"reference_name": driver.name,
				"comment_type": "Comment",
			},
			pluck="content",
		)
		self.assertTrue(any("current_balance: old 145 KES, new 150 KES" in c for c in comment), comment)
		with self.assertRaises(frappe.ValidationError):
			tuktuk.reconcile_all_drivers_balances(auto_fix="perhaps")

	def test_balance_reconciliation_report_executes(self):
		vehicle, driver = self.committed_driver()
		apply_payment(vehicle.mpesa_account, "200")
		frappe.db.sql(
			"update `tabTukTuk Driver` set payout_pending = payout_pending + 2 where name = %s", driver.name
		)
		columns, rows = balance_reconciliation.execute({"driver": driver.name})
		self.assertIn("payout_pending_ledger", [c["fieldname"] for c in columns])
		self.assertEqual(len(rows), 1)
		self.assertEqual((rows[0]["payout_pending_cached"], rows[0]["payout_pending_ledger"]), (102, 100))
		self.assertEqual(rows[0]["difference"], 2)
		from frappe.desk.query_report import get_script, run

		report = frappe.get_doc("Report", "Balance Reconciliation")
		self.assertEqual(
			(report.report_type, report.is_standard, report.ref_doctype),
			("Script Report", "Yes", "TukTuk Driver"),
		)
		self.assertIn(
			"only_discrepancies", get_script("Balance Reconciliation")["script"]
		)  # what the desk loads
		result = run("Balance Reconciliation", filters={"driver": driver.name, "only_discrepancies": 1})
		self.assertEqual(len(result["result"]), 1)
		frappe.db.rollback()

	def test_bench_command_exit_codes(self):
		bench = shutil.which("bench")
		if not bench:
			self.skipTest("bench is not on PATH (run `bench --site SITE tuktuk-reconcile` by hand)")
		vehicle, driver = self.committed_driver()
		apply_payment(vehicle.mpesa_account, "100")
		frappe.db.commit()

		def command(*args):
			return subprocess.run(
				[bench, "--site", frappe.local.site, "tuktuk-reconcile", "--driver", driver.name, *args],
				cwd=get_bench_path(),
				capture_output=True,
				text=True,
				timeout=300,
			)

		clean = command()
		summary = json.loads(clean.stdout.strip().splitlines()[-1])
		# exit 0 unless the site's ledger invariants (checked whole) are already broken elsewhere
		self.assertEqual(clean.returncode, 0 if summary["invariant_breaches"] == 0 else 1, clean.stdout)
		frappe.db.sql(
			"update `tabTukTuk Driver` set current_balance = current_balance + 3 where name = %s", driver.name
		)
		frappe.db.commit()
		drift = command()
		self.assertEqual(drift.returncode, 1, drift.stdout + drift.stderr)
		self.assertIn(driver.name, drift.stdout)
		fixed = command("--fix")
		self.assertEqual(fixed.returncode, 1, fixed.stdout + fixed.stderr)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("TukTuk Driver", driver.name, "current_balance"), 50)
		missing = command("--driver", "NOSUCH")
		self.assertEqual(missing.returncode, 2)
