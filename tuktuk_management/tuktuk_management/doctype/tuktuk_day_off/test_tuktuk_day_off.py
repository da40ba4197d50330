# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""TukTuk Day Off in a real site: a driver requests days off for themselves only and cannot
approve; a manager approves or rejects; a driver lists and opens only their own; an Approved day
off leaves the driver unjudged by the daily close."""

from __future__ import annotations

from contextlib import contextmanager

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate, now_datetime, today

from tuktuk_management import roles
from tuktuk_management.api import days_off
from tuktuk_management.ledger.close import close_driver
from tuktuk_management.ledger.judged import NotJudged
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.tests.factories import make_driver, make_vehicle

DRIVER_USER = "dayoff-driver@example.com"
OTHER_USER = "dayoff-driver2@example.com"
MANAGER_USER = "dayoff-manager@example.com"


def make_user(email: str, role: str) -> str:
	if not frappe.db.exists("User", email):
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": email.split("@")[0],
				"send_welcome_email": 0,
				"roles": [{"role": role}],
			}
		).insert(ignore_permissions=True)
	return email


@contextmanager
def as_user(user: str):
	"""Run as ``user`` with role checks live (``frappe.only_for`` is skipped while in_test is set)."""
	frappe.set_user(user)
	frappe.local.flags.in_test = False
	try:
		yield
	finally:
		frappe.local.flags.in_test = True
		frappe.set_user("Administrator")


def tomorrow(days: int = 1) -> str:
	return add_days(today(), days)


class TestTukTukDayOff(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_user(DRIVER_USER, roles.DRIVER)
		make_user(OTHER_USER, roles.DRIVER)
		make_user(MANAGER_USER, roles.MANAGER)
		cls.driver = make_driver(make_vehicle().name, user=DRIVER_USER)
		cls.other = make_driver(make_vehicle().name, user=OTHER_USER)

	def request(self, user: str = DRIVER_USER, days: int = 1, **kwargs) -> dict:
		with as_user(user):
			return frappe.call(
				days_off.request_day_off, day_off_date=tomorrow(days), reason="family", **kwargs
			)

	def test_a_driver_requests_a_day_off_for_themselves_only(self):
		# A driver argument is not part of the method: Frappe drops it, the request is their own.
		reply = self.request(driver=self.other.name)
		self.assertEqual(reply["status"], "Requested")
		self.assertEqual(frappe.db.get_value("TukTuk Day Off", reply["name"], "driver"), self.driver.name)
		with as_user(MANAGER_USER), self.assertRaises(frappe.PermissionError):
			days_off.request_day_off(tomorrow(2))  # staff use the form, not the driver's method

	def test_past_dates_and_duplicates_are_refused(self):
		with as_user(DRIVER_USER), self.assertRaises(frappe.ValidationError):
			days_off.request_day_off(add_days(today(), -1))
		self.request(days=3)
		with self.assertRaises(frappe.ValidationError):
			self.request(days=3)
		self.request(user=OTHER_USER, days=3)  # another driver, same date: fine

	def test_a_driver_cannot_approve_and_a_manager_approves_once(self):
		name = self.request(days=4)["name"]
		with as_user(DRIVER_USER), self.assertRaises(frappe.PermissionError):
			days_off.approve_day_off(name)
		with as_user(DRIVER_USER), self.assertRaises(frappe.PermissionError):
			days_off.reject_day_off(name, "no")
		with as_user(MANAGER_USER):
			self.assertEqual(days_off.approve_day_off(name), {"name": name, "status": "Approved"})
			first = frappe.db.get_value("TukTuk Day Off", name, ["approved_by", "approved_on", "modified"])
			self.assertEqual(days_off.approve_day_off(name)["status"], "Approved")  # a second click
		self.assertEqual(first[0], MANAGER_USER)
		self.assertEqual(frappe.db.get_value("TukTuk Day Off", name, "modified"), first[2])
		with as_user(DRIVER_USER), self.assertRaises(frappe.ValidationError):
			days_off.cancel_day_off_request(name)  # decided: only a manager changes it now

	def test_reject_needs_a_reason_and_cancel_is_for_the_own_request(self):
		name = self.request(days=5)["name"]
		with as_user(MANAGER_USER), self.assertRaises(frappe.ValidationError):
			days_off.reject_day_off(name, "  ")
		with as_user(OTHER_USER), self.assertRaises(frappe.PermissionError):
			days_off.cancel_day_off_request(name)
		with as_user(DRIVER_USER):
			self.assertEqual(days_off.cancel_day_off_request(name)["status"], "Cancelled")
		self.request(days=5)  # a cancelled request frees the date
		other = self.request(user=OTHER_USER, days=5)["name"]
		with as_user(MANAGER_USER):
			self.assertEqual(days_off.reject_day_off(other, "short of drivers")["status"], "Rejected")
		self.assertEqual(frappe.db.get_value("TukTuk Day Off", other, "rejection_reason"), "short of drivers")

	def test_status_changes_only_through_the_buttons(self):
		name = self.request(days=6)["name"]
		doc = frappe.get_doc("TukTuk Day Off", name)
		doc.status = "Approved"
		with self.assertRaises(frappe.ValidationError):
			doc.save()
		with self.assertRaises(frappe.ValidationError):
			frappe.get_doc(
				{
					"doctype": "TukTuk Day Off",
					"driver": self.other.name,
					"day_off_date": tomorrow(6),
					"status": "Approved",
				}
			).insert()

	def test_a_driver_lists_and_opens_only_their_own_days_off(self):
		own = self.request(days=7)["name"]
		others = self.request(user=OTHER_USER, days=7)["name"]
		with as_user(DRIVER_USER):
			rows = frappe.get_list("TukTuk Day Off", fields=["name", "driver"], limit_page_length=0)
			self.assertIn(own, {row.name for row in rows})
			self.assertEqual({row.driver for row in rows}, {self.driver.name})  # never another driver's
			with self.assertRaises(frappe.PermissionError):
				frappe.get_doc("TukTuk Day Off", others).check_permission("read")
		self.assertFalse(
			frappe.has_permission(
				"TukTuk Day Off", "write", frappe.get_doc("TukTuk Day Off", own), user=DRIVER_USER
			)
		)
		with as_user(MANAGER_USER):
			names = set(
				frappe.get_list("TukTuk Day Off", filters={"name": ("in", [own, others])}, pluck="name")
			)
			self.assertEqual(names, {own, others})

	def test_an_approved_day_off_is_not_judged_by_the_close(self):
		day = getdate(today())
		doc = frappe.get_doc(
			{"doctype": "TukTuk Day Off", "driver": self.driver.name, "day_off_date": day}
		).insert()
		days_off.approve_day_off(doc.name)
		now = now_datetime()
		result = close_driver(frappe.db, self.driver.name, day, settings=load_settings(frappe.db), now=now)
		self.assertEqual((result.judged, result.not_judged_reason), (False, NotJudged.DAY_OFF))
		row = frappe.get_doc("TukTuk Daily Close", f"{self.driver.name}-{day.isoformat()}")
		self.assertEqual(
			(row.judged, row.not_judged_reason, row.consecutive_misses), (0, NotJudged.DAY_OFF, 0)
		)
		other = close_driver(frappe.db, self.other.name, day, settings=load_settings(frappe.db), now=now)
		self.assertTrue(other.judged)
		with self.assertRaises(frappe.ValidationError):  # the date is closed now: nothing to give
			frappe.get_doc(
				{
					"doctype": "TukTuk Day Off",
					"driver": self.other.name,
					"day_off_date": day,
				}
			).insert()

	def test_the_roster_shows_days_off_to_managers_only(self):
		from tuktuk_management.tuktuk_management.report.driver_roster import driver_roster

		requested = self.request(days=8)["name"]
		approved = self.request(user=OTHER_USER, days=8)["name"]
		days_off.approve_day_off(approved)
		filters = {"from_date": today(), "days": 14}
		with as_user(MANAGER_USER):
			columns, data, _message = driver_roster.execute(filters)
		self.assertEqual(len(columns), 4 + 14)
		key = "d_" + getdate(tomorrow(8)).strftime("%Y%m%d")
		cells = {row["driver"]: row[key] for row in data}
		self.assertEqual((cells[self.driver.name], cells[self.other.name]), ("Requested", "Day Off"))
		self.assertTrue(requested)
		with as_user(DRIVER_USER), self.assertRaises(frappe.PermissionError):
			driver_roster.execute(filters)
