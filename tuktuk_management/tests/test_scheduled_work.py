"""Scheduled work in a real v15 site: the settings' times, the dormancy decision, the health
report's states and alerts, the bench command and probe, the time zone change, the Daraja token
shared by processes and the settings read once per change.

Everything runs in the test's transaction and is rolled back, except where a second process
must see it (committed, then removed in ``tearDown``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, get_bench_path, now_datetime
from frappe.utils.password import set_encrypted_password
from frappe.utils.scheduler import is_dormant

from tuktuk_management import health, install, settings_cache, settings_times
from tuktuk_management.api import health as health_api
from tuktuk_management.daraja.client import DarajaClient, DarajaConfig, clear_token_cache, token_cache_key
from tuktuk_management.daraja_tokens import RedisTokenCache
from tuktuk_management.ledger import health as core_health
from tuktuk_management.patches.v1_0 import repair_install_time_settings as repair
from tuktuk_management.tests.factories import make_driver, make_vehicle

SETTINGS = "TukTuk Settings"
TIME_DEFAULTS = {
	"daily_close_time": "23:59:00",
	"reconciliation_time": "02:00:00",
	"operating_hours_start": "06:00:00",
	"operating_hours_end": "23:00:00",
}


def stored(field: str) -> str | None:
	rows = frappe.db.sql(
		"select value from `tabSingles` where doctype = %s and field = %s", (SETTINGS, field)
	)
	return rows[0][0] if rows else None


def check(result: dict, name: str) -> dict:
	return next(c for c in result["checks"] if c["name"] == name)


class TestScheduledWork(FrappeTestCase):
	def setUp(self):
		self.started_at = now_datetime()
		self.conf_backup = {k: frappe.local.conf.get(k) for k in ("pause_scheduler", "maintenance_mode")}

	def tearDown(self):
		frappe.db.rollback()
		frappe.local.conf.update(self.conf_backup)
		frappe.cache.delete_keys("tuktuk_management:overdue_alert:")
		settings_cache.clear()

	# Times -------------------------------------------------------------------------------------

	def test_frappe_stamps_time_fields_of_a_new_document_with_now(self):
		"""The Frappe v15 behaviour the install works around (if Frappe stops doing it, fine)."""
		fresh = frappe.new_doc(SETTINGS)
		self.assertNotEqual(str(fresh.daily_close_time), "23:59:00")

	def test_settings_saved_first_at_install_get_the_default_times(self):
		backup = frappe.db.sql("select field, value from `tabSingles` where doctype = %s", (SETTINGS,))
		frappe.db.sql("delete from `tabSingles` where doctype = %s", (SETTINGS,))
		frappe.clear_document_cache(SETTINGS, SETTINGS)
		install.set_default_times()
		for field, value in TIME_DEFAULTS.items():
			self.assertEqual(stored(field), value, field)
		self.assertEqual(stored("global_daily_target"), "3000")  # the other defaults too
		# A site whose settings exist is left alone.
		frappe.db.set_single_value(SETTINGS, "daily_close_time", "18:00:00")
		install.set_default_times()
		self.assertEqual(stored("daily_close_time"), "18:00:00")
		frappe.db.rollback()
		self.assertTrue(backup)

	def test_repair_rule(self):
		moment = datetime(2026, 11, 20, 10, 30, 12, 345678)
		artefact = {f: "10:30:12.345678" for f in TIME_DEFAULTS}
		self.assertEqual(
			settings_times.install_artefacts(artefact, TIME_DEFAULTS, [moment], set()), set(TIME_DEFAULTS)
		)
		# A field a later Version changed was chosen; a time far from the moment was chosen.
		self.assertEqual(
			settings_times.install_artefacts(artefact, TIME_DEFAULTS, [moment], {"daily_close_time"}),
			set(TIME_DEFAULTS) - {"daily_close_time"},
		)
		chosen = {**artefact, "daily_close_time": "18:00:00", "reconciliation_time": "02:00:00"}
		self.assertEqual(
			settings_times.install_artefacts(chosen, TIME_DEFAULTS, [moment], set()),
			{"operating_hours_start", "operating_hours_end"},
		)
		# Across midnight.
		late = datetime(2026, 11, 20, 23, 59, 59)
		self.assertEqual(
			settings_times.install_artefacts(
				{"reconciliation_time": "00:00:30"}, TIME_DEFAULTS, [late], set()
			),
			{"reconciliation_time"},
		)
		# No history: all stamped together by one save, none at its default.
		self.assertEqual(
			settings_times.install_artefacts(artefact, TIME_DEFAULTS, [], set()), set(TIME_DEFAULTS)
		)
		self.assertEqual(settings_times.install_artefacts(chosen, TIME_DEFAULTS, [], set()), set())
		spread = {**artefact, "reconciliation_time": "03:00:00"}
		self.assertEqual(settings_times.install_artefacts(spread, TIME_DEFAULTS, [], set()), set())

	def test_repair_patch_on_this_site(self):
		moments = repair.first_saved_moments()
		self.assertTrue(moments, "the settings of a site have a first Version or a creation")
		install_time = moments[0].time().isoformat()
		frappe.db.set_single_value(SETTINGS, {f: install_time for f in TIME_DEFAULTS})
		changed_before = repair.changed_later()
		repair.execute()
		for field, value in TIME_DEFAULTS.items():
			if field not in changed_before:
				self.assertEqual(stored(field), value, field)
		# A manager's choice, saved through the form (a Version records it), is kept.
		doc = frappe.get_single(SETTINGS)
		doc.daily_close_time = "18:30:00"
		doc.save(ignore_permissions=True)
		frappe.db.set_single_value(SETTINGS, "reconciliation_time", install_time)
		repair.execute()
		self.assertEqual(stored("daily_close_time"), "18:30:00")

	# Dormancy ----------------------------------------------------------------------------------

	def age_activity(self, days: int) -> None:
		frappe.db.sql("update `tabActivity Log` set modified = %s", (now_datetime() - timedelta(days=days),))
		frappe.utils.scheduler.schedule_jobs_based_on_activity.clear_cache()

	def test_keep_site_active_wakes_a_dormant_site(self):
		if frappe.conf.developer_mode:
			self.skipTest("developer_mode sites are never dormant")
		frappe.db.set_single_value(SETTINGS, "keep_scheduler_active", 1)
		self.age_activity(days=30)
		self.assertTrue(is_dormant())
		self.assertIn("dormant", check(health.report(), "scheduler")["message"])
		self.assertTrue(health.keep_site_active())
		self.assertFalse(is_dormant())
		self.assertFalse(health.keep_site_active())  # one entry per KEEP_ACTIVE_EVERY
		later = now_datetime() + health.KEEP_ACTIVE_EVERY + timedelta(minutes=1)
		self.assertTrue(health.keep_site_active(later))

	def test_keep_site_active_can_be_switched_off(self):
		self.age_activity(days=30)
		frappe.db.set_single_value(SETTINGS, "keep_scheduler_active", 0)
		self.assertFalse(health.keep_site_active())
		frappe.db.set_single_value(SETTINGS, "keep_scheduler_active", 1)
		self.assertTrue(health.keep_site_active())

	# Health ------------------------------------------------------------------------------------

	def stamp_minute_job(self, when: datetime | None) -> None:
		frappe.db.set_value(
			"Scheduled Job Type", {"method": health.MINUTE_JOB}, "last_execution", when, update_modified=False
		)

	def healthy_scheduler(self) -> None:
		frappe.db.set_single_value("System Settings", "enable_scheduler", 1)
		frappe.local.conf.pause_scheduler = 0
		frappe.local.conf.maintenance_mode = 0
		health.keep_site_active(now_datetime() + timedelta(days=1))  # fresh activity
		self.stamp_minute_job(now_datetime())

	def test_scheduler_states(self):
		self.healthy_scheduler()
		self.assertEqual(health.check_scheduler(now_datetime()).level, core_health.OK)
		self.stamp_minute_job(now_datetime() - timedelta(minutes=12))
		result = health.check_scheduler(now_datetime())
		self.assertEqual(result.level, core_health.CRITICAL)
		self.assertIn("bench schedule", result.message)
		self.stamp_minute_job(now_datetime() + timedelta(hours=3))  # the zone moved west
		self.assertIn("time zone", health.check_scheduler(now_datetime()).message)
		self.stamp_minute_job(now_datetime())
		frappe.db.set_single_value("System Settings", "enable_scheduler", 0)
		result = health.check_scheduler(now_datetime())
		self.assertEqual(result.level, core_health.CRITICAL)
		self.assertIn("disabled", result.message)
		frappe.db.set_single_value("System Settings", "enable_scheduler", 1)
		frappe.local.conf.pause_scheduler = 1
		self.assertIn("paused", health.check_scheduler(now_datetime()).message)

	def test_email_check_says_when_alerts_cannot_be_emailed(self):
		frappe.db.set_value("Email Account", {"default_outgoing": 1}, "default_outgoing", 0)
		conf_mail_server = frappe.local.conf.pop("mail_server", None)
		try:
			frappe.db.set_single_value(SETTINGS, "reconciliation_recipients", "ops@example.com")
			result = health.check_email()
			self.assertEqual(result.level, core_health.WARNING)
			self.assertIn("no default outgoing Email Account", result.message)
			account = frappe.get_doc(
				{
					"doctype": "Email Account",
					"email_account_name": "TukTuk Health Test",
					"email_id": "tuktuk-health@example.com",
					"enable_outgoing": 1,
					"default_outgoing": 1,
					"smtp_server": "localhost",
					"no_smtp_authentication": 1,
				}
			).insert(ignore_permissions=True)
			self.assertEqual(alert_account := health.alerts.outgoing_email_account(), account.name)
			self.assertTrue(alert_account)
		finally:
			if conf_mail_server:
				frappe.local.conf.mail_server = conf_mail_server

	def overdue_driver(self) -> str:
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name, daily_target=1000)
		# Created two days ago and never closed: yesterday's close is overdue.
		frappe.db.set_value("TukTuk Driver", driver.name, "creation", add_days(now_datetime(), -2))
		frappe.db.set_single_value(SETTINGS, "daily_close_time", "00:00:00")
		return driver.name

	def test_overdue_close_is_critical_and_alerts_managers_once(self):
		self.healthy_scheduler()
		self.overdue_driver()
		frappe.db.set_value("Email Account", {"default_outgoing": 1}, "default_outgoing", 0)
		conf_mail_server = frappe.local.conf.pop("mail_server", None)
		try:
			result = health.report()
			close = check(result, "daily_close")
			self.assertEqual((close["level"], result["exit_code"]), (core_health.CRITICAL, 2))
			self.assertTrue(close["details"]["overdue"])
			outcome = health.watch()
			self.assertIn("daily_close", outcome["alerted"])
			notes = frappe.get_all(
				"Notification Log",
				filters={"creation": (">=", self.started_at), "subject": ("like", "%Daily close overdue%")},
				fields=["email_content", "for_user"],
			)
			self.assertTrue(notes)
			self.assertIn("Not emailed", notes[0].email_content)  # no outgoing account: said so
			self.assertNotIn("daily_close", health.watch()["alerted"])  # once per overdue date
		finally:
			if conf_mail_server:
				frappe.local.conf.mail_server = conf_mail_server

	def test_overdue_alert_is_emailed_when_it_can_be(self):
		self.healthy_scheduler()
		self.overdue_driver()
		frappe.db.set_single_value(SETTINGS, "reconciliation_recipients", "ops@example.com")
		if not health.alerts.outgoing_email_account():
			frappe.get_doc(
				{
					"doctype": "Email Account",
					"email_account_name": "TukTuk Health Test",
					"email_id": "tuktuk-health@example.com",
					"enable_outgoing": 1,
					"default_outgoing": 1,
					"smtp_server": "localhost",
					"no_smtp_authentication": 1,
				}
			).insert(ignore_permissions=True)
		self.assertIn("daily_close", health.watch()["alerted"])
		queued = frappe.get_all(
			"Email Queue", filters={"creation": (">=", self.started_at)}, fields=["message"], limit=5
		)
		self.assertTrue(any("Daily close overdue" in row.message for row in queued))

	def test_summary_line_and_exit_codes(self):
		result = {
			"status": "critical",
			"checks": [
				{"name": "daily_close", "level": "critical"},
				{"name": "email", "level": "warning"},
				{"name": "payouts", "level": "ok"},
			],
		}
		self.assertEqual(health.summary_line(result), "Critical: daily close")
		result["status"], result["checks"][0]["level"] = "warning", "ok"
		self.assertEqual(health.summary_line(result), "Degraded: email")

	def test_probe_needs_a_manager_or_the_token(self):
		set_encrypted_password(SETTINGS, SETTINGS, "probe-token-" + "x" * 20, "health_token")
		frappe.set_user("Guest")
		try:
			with self.assertRaises(frappe.PermissionError):
				health_api.status()
			with self.assertRaises(frappe.PermissionError):
				health_api.status(token="wrong")
			result = health_api.status(token="probe-token-" + "x" * 20)
			self.assertIn(result["status"], core_health.LEVELS)
		finally:
			frappe.set_user("Administrator")
		self.assertEqual(health_api.status()["site"], frappe.local.site)

	def test_bench_command_exit_code_matches_the_report(self):
		bench = shutil.which("bench")
		if not bench:
			self.skipTest("bench is not on PATH")
		done = subprocess.run(
			[bench, "--site", frappe.local.site, "tuktuk-health", "--json"],
			cwd=get_bench_path(),
			capture_output=True,
			text=True,
			timeout=120,
		)
		result = json.loads(done.stdout[done.stdout.index("{") :])
		self.assertEqual(done.returncode, result["exit_code"], done.stderr)
		self.assertEqual({c["name"] for c in result["checks"]}, {
			"scheduler", "email", "daily_close", "reconciliation", "callbacks", "payouts",
		})  # fmt: skip

	# Time zone ---------------------------------------------------------------------------------

	def test_time_zone_change_brings_job_stamps_back(self):
		system = frappe.get_single("System Settings")
		old_zone = system.time_zone or "Africa/Nairobi"
		new_zone = "America/Sao_Paulo" if old_zone != "America/Sao_Paulo" else "Asia/Kolkata"
		future = now_datetime() + timedelta(hours=9)
		job = frappe.get_all("Scheduled Job Type", filters={"method": health.MINUTE_JOB}, pluck="name")[0]
		other = frappe.get_all(
			"Scheduled Job Type",
			filters={"method": ("not like", "tuktuk_management.%")},
			pluck="name",
			limit=1,
		)[0]
		for name in (job, other):
			frappe.db.set_value("Scheduled Job Type", name, "last_execution", future, update_modified=False)
		# A job that never ran is timed from its creation, stamped in the old zone too.
		never_ran = frappe.get_all(
			"Scheduled Job Type", filters={"method": health.RECONCILIATION_JOB}, pluck="name"
		)[0]
		frappe.db.sql(
			"update `tabScheduled Job Type` set last_execution = null, creation = %s where name = %s",
			(future, never_ran),
		)
		system.time_zone = new_zone
		system.flags.ignore_mandatory = True
		system.save(ignore_permissions=True)
		stamp = frappe.db.get_value("Scheduled Job Type", job, "last_execution")
		self.assertLess(stamp, future - timedelta(hours=1))
		self.assertEqual(frappe.db.get_value("Scheduled Job Type", other, "last_execution"), future)
		self.assertLess(
			frappe.db.get_value("Scheduled Job Type", never_ran, "last_execution"),
			future - timedelta(hours=1),
		)
		# The cron is due again within a minute of the change.
		due = frappe.get_doc("Scheduled Job Type", job).get_next_execution()
		self.assertLessEqual(due, stamp + timedelta(minutes=1))

	# Caches ------------------------------------------------------------------------------------

	def test_settings_are_read_once_per_change(self):
		settings_cache.clear()
		first = settings_cache.cached_settings()
		queries = []
		original = frappe.db.sql

		def counting(query, *args, **kwargs):
			queries.append(query)
			return original(query, *args, **kwargs)

		frappe.db.sql = counting
		try:
			for _ in range(5):
				self.assertEqual(settings_cache.cached_settings(), first)
				settings_cache.callback_token_matches("x")
		finally:
			frappe.db.sql = original
		self.assertEqual(queries, [])  # warm: no SQL at all
		frappe.db.set_single_value(SETTINGS, "processing_paused", 0 if first.processing_paused else 1)
		self.assertNotEqual(settings_cache.cached_settings().processing_paused, first.processing_paused)
		set_encrypted_password(SETTINGS, SETTINGS, "rotated-token-" + "y" * 20, "callback_token")
		doc = frappe.get_single(SETTINGS)
		doc.save(ignore_permissions=True)  # what the settings form does
		self.assertTrue(settings_cache.callback_token_matches("rotated-token-" + "y" * 20))
		self.assertFalse(settings_cache.callback_token_matches("rotated-token-"))


STANDIN_CALLS: list[str] = []


class OAuthStandIn(BaseHTTPRequestHandler):
	def log_message(self, *args):
		pass

	def do_GET(self):
		STANDIN_CALLS.append(self.path)
		body = json.dumps({"access_token": f"shared-token-{len(STANDIN_CALLS)}", "expires_in": "3599"})
		self.send_response(200)
		self.send_header("Content-Type", "application/json")
		self.send_header("Content-Length", str(len(body)))
		self.end_headers()
		self.wfile.write(body.encode())


def token_in_this_process(base_url: str) -> str:
	"""Run by ``bench execute`` in a second process: the token it gets through the Redis cache."""
	client = DarajaClient(DarajaConfig("key", "secret", base_url=base_url), token_cache=RedisTokenCache())
	return client.access_token()


class TestDarajaTokenShared(FrappeTestCase):
	def test_two_processes_share_one_token(self):
		bench = shutil.which("bench")
		if not bench:
			self.skipTest("bench is not on PATH")
		server = ThreadingHTTPServer(("127.0.0.1", 0), OAuthStandIn)
		threading.Thread(target=server.serve_forever, daemon=True).start()
		base_url = f"http://127.0.0.1:{server.server_port}"
		key = token_cache_key(DarajaConfig("key", "secret", base_url=base_url))
		try:
			STANDIN_CALLS.clear()
			clear_token_cache()
			here = token_in_this_process(base_url)
			self.assertEqual((here, len(STANDIN_CALLS)), ("shared-token-1", 1))
			done = subprocess.run(
				[bench, "--site", frappe.local.site, "execute",
					"tuktuk_management.tests.test_scheduled_work.token_in_this_process", "--args", json.dumps([base_url])],
				cwd=get_bench_path(), capture_output=True, text=True, timeout=120,
			)  # fmt: skip
			self.assertIn("shared-token-1", done.stdout, done.stderr)
			self.assertEqual(len(STANDIN_CALLS), 1)  # the second process asked Redis, not Daraja
			ttl_s = frappe.cache.ttl(frappe.cache.make_key(key))
			self.assertTrue(3599 - 60 - 120 < ttl_s <= 3599 - 60, ttl_s)  # refreshed before expiry
			self.assertNotIn("shared-token", key)
		finally:
			server.shutdown()
			frappe.cache.delete_value(key)
