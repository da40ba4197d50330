"""Onboarding and leaving on the desk (api/lifecycle.py, the TukTuk Driver controller): phone and
detail validation messages, Create User (role, link, welcome email in the Email Queue), the
managers' new-driver notification, who may terminate, the termination itself with the User
disabled, and reinstatement."""

from __future__ import annotations

import frappe
from frappe.core.doctype.user.user import User
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate
from frappe.utils.password import update_password

from tuktuk_management import roles
from tuktuk_management.api import lifecycle
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle
from tuktuk_management.tests.test_close_and_reconciliation import email_text
from tuktuk_management.tests.test_roles import as_user, make_user

MANAGER = "tuktuk-lifecycle-manager@example.com"
ACCOUNTANT = "tuktuk-lifecycle-accountant@example.com"
PASSWORD = "Tuktuk-Lifecycle-Pass-9"


def invalid_message(**values) -> str:
	"""The message of the ValidationError a driver with ``values`` is refused with."""
	try:
		make_driver(**values)
	except frappe.ValidationError as exc:
		return str(exc)
	raise AssertionError(f"accepted: {values}")


class TestOnboarding(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_user(MANAGER, [roles.MANAGER])
		cls.email_account = None
		if not frappe.db.exists("Email Account", {"default_outgoing": 1, "enable_outgoing": 1}):
			cls.email_account = frappe.get_doc(
				{
					"doctype": "Email Account",
					"email_account_name": "TukTuk Lifecycle Outgoing",
					"email_id": "tuktuk-lifecycle@example.com",
					"enable_outgoing": 1,
					"default_outgoing": 1,
					"smtp_server": "localhost",
					"no_smtp_authentication": 1,
				}
			).insert(ignore_permissions=True)

	def test_phone_numbers_are_stored_as_2547_or_2541(self):
		driver = make_driver(mpesa_number="0712 345-678", emergency_contact_phone="+254 110 123 456")
		self.assertEqual(
			(driver.mpesa_number, driver.emergency_contact_phone), ("254712345678", "254110123456")
		)
		self.assertEqual(frappe.db.get_value("TukTuk Driver", driver.name, "mpesa_number"), "254712345678")

	def test_wrong_phone_numbers_are_refused_with_a_clear_message(self):
		message = invalid_message(mpesa_number="+255 712 345 678")
		self.assertIn("M-Pesa Number is not a Kenyan mobile number", message)
		self.assertNotIn("712", message)  # the number is not repeated (it would reach the Error Log)
		message = invalid_message(emergency_contact_phone="07x2345678")
		self.assertIn("Emergency Contact Phone may contain only digits", message)

	def test_licence_expiry_age_and_national_id(self):
		yesterday = add_days(nowdate(), -1)
		self.assertIn("driving licence expired on", invalid_message(licence_expiry=yesterday))
		make_driver(licence_expiry=yesterday, status="Inactive")  # kept on file while Inactive
		make_driver(licence_expiry=nowdate())  # valid through its expiry date
		self.assertIn("at least 18 years old", invalid_message(date_of_birth=add_days(nowdate(), -365 * 17)))
		first = make_driver(national_id_number=" 2345 6789 ")
		self.assertEqual(first.national_id_number, "23456789")
		message = invalid_message(national_id_number="23456789")
		self.assertIn("already recorded for driver", message)
		self.assertIn(first.name, message)
		self.assertNotIn("23456789", message)
		make_driver(national_id_number="")  # several drivers without an ID number are fine
		make_driver(national_id_number="")

	def test_create_user_links_a_driver_login_and_queues_the_welcome_email(self):
		driver = make_driver(driver_name="Achieng Otieno")
		email = f"{driver.name.lower()}@drivers.example.com"
		reply = lifecycle.create_driver_user(driver.name, email)
		self.assertEqual((reply["created"], reply["user"]), (True, email))
		user = frappe.get_doc("User", email)
		self.assertEqual([r.role for r in user.roles], [roles.DRIVER])
		self.assertEqual(
			(user.user_type, user.first_name, user.last_name), ("Website User", "Achieng", "Otieno")
		)
		self.assertEqual(frappe.db.get_value("TukTuk Driver", driver.name, "user"), email)
		welcome = frappe.get_all(
			"Email Queue Recipient", filters={"recipient": email}, fields=["parent"], order_by="creation desc"
		)
		self.assertTrue(welcome, "the welcome email is in the Email Queue")
		self.assertIn(
			"update-password", email_text(frappe.db.get_value("Email Queue", welcome[0].parent, "message"))
		)

		again = lifecycle.create_driver_user(driver.name, "other@drivers.example.com")
		self.assertEqual((again["created"], again["user"]), (False, email))
		self.assertIn("already has a user", again["message"])
		self.assertFalse(frappe.db.exists("User", "other@drivers.example.com"))

	def test_create_user_refuses_a_bad_or_taken_email(self):
		driver = make_driver()
		with self.assertRaises(frappe.ValidationError):
			lifecycle.create_driver_user(driver.name, "not-an-email")
		with self.assertRaises(frappe.ValidationError):
			lifecycle.create_driver_user(driver.name, MANAGER)  # belongs to a user already
		self.assertFalse(frappe.db.get_value("TukTuk Driver", driver.name, "user"))

	def test_managers_are_told_of_a_new_driver_without_personal_data(self):
		driver = make_driver(
			driver_name="Wanjiru Kamau", mpesa_number="0722000111", national_id_number="11223344"
		)
		notes = frappe.get_all(
			"Notification Log",
			filters={"for_user": MANAGER, "document_type": "TukTuk Driver", "document_name": driver.name},
			fields=["subject", "email_content"],
		)
		self.assertEqual(len(notes), 1)
		self.assertIn(driver.name, notes[0].subject)
		self.assertIn("Wanjiru Kamau", notes[0].subject)
		emails = frappe.get_all(
			"Email Queue",
			filters={"reference_doctype": "TukTuk Driver", "reference_name": driver.name},
			fields=["name", "message"],
		)
		self.assertEqual(len(emails), 1)
		recipients = frappe.get_all(
			"Email Queue Recipient", filters={"parent": emails[0].name}, pluck="recipient"
		)
		self.assertIn(MANAGER, recipients)
		for text in (notes[0].subject, notes[0].email_content or "", emails[0].message):
			self.assertNotIn("254722000111", text)
			self.assertNotIn("11223344", text)


class TestPersonalDetails(FrappeTestCase):
	"""A driver's personal details (ID, licence, birth date, photo, emergency contact) are at
	permission level 1: managers read and edit them; an accountant's form and lists of drivers
	leave them out (docs/security.md says where Frappe 15 still lets one through)."""

	PERSONAL = ("national_id_number", "driving_licence_number", "emergency_contact_phone")

	def test_accountants_do_not_get_personal_details_managers_do(self):
		from frappe.desk.form.load import getdoc

		make_user(MANAGER, [roles.MANAGER])
		make_user(ACCOUNTANT, [roles.ACCOUNTANT])
		driver = make_driver(
			national_id_number="31 415 926",
			driving_licence_number="DL-PERSONAL-1",
			emergency_contact_phone="0711 000 222",
		).name
		with as_user(ACCOUNTANT):
			getdoc("TukTuk Driver", driver)
			opened = frappe.response.docs[-1]
			(everything,) = frappe.get_list("TukTuk Driver", filters={"name": driver}, fields=["*"])
			one_by_one = [
				frappe.get_list("TukTuk Driver", filters={"name": driver}, fields=["name", field])[0]
				for field in self.PERSONAL
			]
		self.assertEqual((opened.driver_name, everything.driver_name), ("Test Driver", "Test Driver"))
		for field, row in zip(self.PERSONAL, one_by_one, strict=True):
			self.assertIsNone(opened.get(field), field)
			self.assertNotIn(field, everything, field)
			self.assertNotIn(field, row, field)
		with as_user(MANAGER):
			(row,) = frappe.get_list(
				"TukTuk Driver", filters={"name": driver}, fields=["name", *self.PERSONAL]
			)
		self.assertEqual(
			(row.national_id_number, row.driving_licence_number, row.emergency_contact_phone),
			("31415926", "DL-PERSONAL-1", "254711000222"),
		)


class TestLeaving(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_user(MANAGER, [roles.MANAGER])
		make_user(ACCOUNTANT, [roles.ACCOUNTANT])

	def setUp(self):
		frappe.set_user("Administrator")
		self.user = make_user(
			f"tuktuk-lifecycle-{frappe.generate_hash(length=8)}@example.com", [roles.DRIVER]
		)
		update_password(self.user, PASSWORD)
		self.vehicle = make_vehicle()
		self.driver = make_driver(self.vehicle.name, daily_target=1000, fare_percentage=50, user=self.user)
		self.payment = apply_payment(self.vehicle.mpesa_account, "400")  # 200 target, 200 payable

	def test_only_managers_preview_terminate_reinstate_or_create_users(self):
		calls = {
			"preview_termination": {"driver": self.driver.name},
			"terminate_driver": {"driver": self.driver.name, "reason": "Test"},
			"reinstate_driver": {"driver": self.driver.name},
			"create_driver_user": {"driver": self.driver.name, "email": "x@drivers.example.com"},
		}
		for user in (self.user, ACCOUNTANT, "Guest"):
			for method, kwargs in calls.items():
				with self.subTest(user=user, method=method), as_user(user):
					with self.assertRaises(frappe.PermissionError):
						getattr(lifecycle, method)(**kwargs)
		self.assertEqual(frappe.db.get_value("TukTuk Driver", self.driver.name, "status"), "Active")
		with as_user(MANAGER):
			preview = lifecycle.preview_termination(self.driver.name)
		self.assertEqual(preview["settlement"]["payout_kes"], 200)
		self.assertEqual(frappe.db.get_value("TukTuk Driver", self.driver.name, "status"), "Active")

	def test_terminate_settles_frees_the_vehicle_and_disables_the_login_then_reinstate(self):
		self.assertTrue(self.can_log_in())
		with as_user(MANAGER):
			preview = lifecycle.preview_termination(self.driver.name)
			self.assertEqual(preview["user_action"], f"User {self.user} will be disabled.")
			self.assertEqual(preview["close"]["collected_kes"], 200)
			reply = lifecycle.terminate_driver(self.driver.name, "Left for another fleet")
		self.assertEqual(reply["status"], "Terminated")
		self.assertEqual(reply["settlement"], preview["settlement"])
		driver = frappe.get_doc("TukTuk Driver", self.driver.name)
		self.assertEqual((driver.status, driver.assigned_tuktuk), ("Terminated", None))
		self.assertEqual(
			(str(driver.terminated_on), driver.termination_reason), (nowdate(), "Left for another fleet")
		)
		self.assertEqual(
			frappe.db.get_value("TukTuk Payout", reply["payout"], ["status", "amount"]), ("Queued", 200)
		)
		self.assertEqual(frappe.db.get_value("TukTuk Payout", self.payment.payout, "status"), "Cancelled")
		self.assertEqual(frappe.db.get_value("TukTuk Termination", reply["termination"], "user"), self.user)
		self.assertEqual(frappe.db.get_value("User", self.user, "enabled"), 0)
		self.assertFalse(self.can_log_in(), "a terminated driver's login is refused")

		with as_user(MANAGER):
			again = lifecycle.terminate_driver(self.driver.name, "Twice")
		self.assertEqual(again["status"], "Already Terminated")
		self.assertIn("nothing changed", again["message"])
		self.assertEqual(frappe.db.count("TukTuk Termination", {"driver": self.driver.name}), 1)

		with as_user(MANAGER):
			back = lifecycle.reinstate_driver(self.driver.name)
		self.assertEqual(back["driver_status"], "Inactive")
		self.assertEqual(frappe.db.get_value("TukTuk Driver", self.driver.name, "status"), "Inactive")
		self.assertEqual(frappe.db.get_value("User", self.user, "enabled"), 1)
		self.assertTrue(self.can_log_in())
		self.assertTrue(frappe.db.get_value("TukTuk Termination", reply["termination"], "reinstated_at"))
		with as_user(MANAGER), self.assertRaises(frappe.ValidationError):
			lifecycle.reinstate_driver(self.driver.name)

	def test_the_status_terminated_is_set_and_left_only_by_its_actions(self):
		self.driver.status = "Terminated"
		with self.assertRaises(frappe.ValidationError):
			self.driver.save()
		with self.assertRaises(frappe.ValidationError):
			make_driver(status="Terminated")
		with as_user(MANAGER):
			lifecycle.terminate_driver(self.driver.name, "Left")
		driver = frappe.get_doc("TukTuk Driver", self.driver.name)
		driver.driver_name = "Renamed"  # other edits of a terminated driver are fine
		driver.save()
		driver.status = "Active"
		with self.assertRaises(frappe.ValidationError):
			driver.save()

	def test_a_staff_login_linked_to_a_driver_stays_enabled(self):
		frappe.db.set_value("TukTuk Driver", self.driver.name, "user", ACCOUNTANT)
		with as_user(MANAGER):
			reply = lifecycle.terminate_driver(self.driver.name, "Left")
		self.assertIn("staff roles", reply["user_action"])
		self.assertEqual(frappe.db.get_value("User", ACCOUNTANT, "enabled"), 1)

	def can_log_in(self) -> bool:
		"""What Frappe's login checks (LoginManager.authenticate): the password, then ``enabled``."""
		user = User.find_by_credentials(self.user, PASSWORD)
		self.assertTrue(user and user.is_authenticated, "the password itself is right")
		return bool(user.enabled)
