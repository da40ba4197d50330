"""The portal's requests page (``/driver/requests``): shown only when the lifecycle's DocTypes and
methods exist, listing only the logged-in driver's own rows."""

from __future__ import annotations

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from tuktuk_management import roles
from tuktuk_management.ledger import messages
from tuktuk_management.tests.factories import make_driver, make_vehicle
from tuktuk_management.tests.test_roles import as_user, make_user
from tuktuk_management.www.driver import index as day_page
from tuktuk_management.www.driver import requests as requests_page

USERS = {
	"a": ("requests-driver-a@example.com", [roles.DRIVER]),
	"b": ("requests-driver-b@example.com", [roles.DRIVER]),
	"manager": ("requests-manager@example.com", [roles.MANAGER]),
}
# A kind that exists on every site with this app (a DocType with a driver Link and a whitelisted
# method), one whose method does not exist and one whose DocType does not.
REAL = requests_page.RequestKind(
	"TukTuk Message", "tuktuk_management.api.messages.preview_broadcast", ("kind", "status", "amount_kes")
)
NO_METHOD = requests_page.RequestKind("TukTuk Message", "tuktuk_management.api.no_such_module.ask", ())
NO_DOCTYPE = requests_page.RequestKind(
	"TukTuk No Such Request", "tuktuk_management.api.messages.preview_broadcast", ()
)


class TestPortalRequests(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.users = {key: make_user(email, role_names) for key, (email, role_names) in USERS.items()}
		cls.a = make_driver(make_vehicle().name, user=cls.users["a"]).name
		cls.b = make_driver(make_vehicle().name, user=cls.users["b"]).name

	def test_a_kind_is_available_only_with_its_doctype_and_its_method(self):
		kinds = {"real": REAL, "no_method": NO_METHOD, "no_doctype": NO_DOCTYPE}
		self.assertEqual(requests_page.available(kinds), {"real": REAL})

	def test_rows_are_the_drivers_own(self):
		wanted = [
			messages.NewMessage(driver, messages.MessageKind.BROADCAST, f"broadcast:req-test:{driver}", "x")
			for driver in (self.a, self.b)
		]
		messages.queue_messages(frappe.db, wanted, now=now_datetime(), user="Administrator")
		rows = requests_page.own_rows(REAL, self.a)
		mine = set(frappe.get_all("TukTuk Message", {"driver": self.a}, pluck="name"))
		self.assertTrue(rows)
		self.assertEqual({row.name for row in rows}, mine & {row.name for row in rows})
		self.assertEqual(set(rows[0]), {"name", "creation", "kind", "status"})  # no amount_kes field
		frappe.db.delete("TukTuk Message", {"idempotency_key": ("like", "broadcast:req-test:%")})

	def test_the_page_exists_only_with_some_kind_and_only_for_drivers(self):
		with as_user(self.users["manager"]), self.assertRaises(frappe.PermissionError):
			requests_page.get_context(frappe._dict())
		with as_user("Guest"), self.assertRaises(frappe.Redirect):
			requests_page.get_context(frappe._dict())
		available = requests_page.available()
		with as_user(self.users["a"]):
			if not available:  # the lifecycle's requests have not landed on this site
				with self.assertRaises(frappe.PageDoesNotExistError):
					requests_page.get_context(frappe._dict())
			else:
				context = requests_page.get_context(frappe._dict())
				self.assertEqual(set(context.sections), set(available))
				for key, kind in available.items():
					names = {row.name for row in context.sections[key]["rows"]}
					others = set(frappe.get_all(kind.doctype, {"driver": ("!=", self.a)}, pluck="name"))
					self.assertFalse(names & others)
			self.assertEqual(day_page.get_context(frappe._dict()).requests_available, bool(available))
