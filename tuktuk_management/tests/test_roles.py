"""Role matrix (DESIGN §7): every whitelisted method of the app called as Guest, Driver,
Accountant and Manager; and a driver sees only their own records.

``frappe.only_for`` does nothing while ``frappe.flags.in_test`` is set, so the calls below run
with that flag cleared, as a real request would.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from contextlib import contextmanager

import frappe
from frappe.tests.utils import FrappeTestCase

import tuktuk_management
from tuktuk_management import roles
from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle

USERS = {
	"driver": ("tuktuk-driver@example.com", [roles.DRIVER]),
	"other_driver": ("tuktuk-driver2@example.com", [roles.DRIVER]),
	"unlinked_driver": ("tuktuk-driver3@example.com", [roles.DRIVER]),
	"accountant": ("tuktuk-accountant@example.com", [roles.ACCOUNTANT]),
	"manager": ("tuktuk-manager@example.com", [roles.MANAGER]),
}
GUEST_MODULES = ("tuktuk_management.api.c2b", "tuktuk_management.api.b2c", "tuktuk_management.api.balance")
# Replacements of Frappe's generic reads: open to every logged-in user like Frappe's own, they
# check the DocType's permission and rows (tests/test_frappe_reads.py).
FRAPPE_OVERRIDE_MODULES = ("tuktuk_management.api.frappe_reads",)
# The original app's callback URLs, kept as token-less aliases behind a TukTuk Settings switch.
LEGACY_GUEST_METHODS = {
	"tuktuk_management.api.tuktuk.payment_confirmation",
	"tuktuk_management.api.tuktuk.payment_validation",
	"tuktuk_management.api.tuktuk.mpesa_confirmation",
	"tuktuk_management.api.tuktuk.mpesa_validation",
	"tuktuk_management.api.sendpay.b2c_result",
	"tuktuk_management.api.sendpay.b2c_timeout",
}
ROLE_CHECK = re.compile(r"frappe\.only_for\(roles\.([A-Z_]+)\)")


def app_whitelisted_methods() -> list:
	"""Every ``@frappe.whitelist`` function of the app (modules imported so they register)."""
	for module in pkgutil.walk_packages(tuktuk_management.__path__, "tuktuk_management."):
		if ".tests" in module.name or module.name.endswith(".hooks"):
			continue
		try:
			importlib.import_module(module.name)
		except Exception:
			continue
	return sorted(
		{fn for fn in frappe.whitelisted if getattr(fn, "__module__", "").startswith("tuktuk_management.")},
		key=lambda fn: f"{fn.__module__}.{fn.__name__}",
	)


def make_user(email: str, role_names: list[str]) -> str:
	if not frappe.db.exists("User", email):
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": email.split("@")[0],
				"send_welcome_email": 0,
				"roles": [{"role": role} for role in role_names],
			}
		).insert(ignore_permissions=True)
	return email


@contextmanager
def as_user(user: str):
	"""Run as ``user`` with role checks live (``only_for`` is skipped while in_test is set)."""
	frappe.set_user(user)
	frappe.local.flags.in_test = False
	try:
		yield
	finally:
		frappe.local.flags.in_test = True
		frappe.set_user("Administrator")


def _rollback_unless_committed() -> None:
	"""Undo an allowed call's writes; a method that commits its own unit of work (e.g.
	``run_reconciliation`` records its run) has already released the savepoint."""
	try:
		frappe.db.rollback(save_point="role_matrix")
	except Exception as exc:
		if "role_matrix does not exist" not in str(exc):
			raise


def dummy_arguments(fn) -> dict:
	return {
		name: "does-not-exist"
		for name, parameter in inspect.signature(fn).parameters.items()
		if parameter.default is inspect.Parameter.empty
	}


class TestRoleMatrix(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.users = {key: make_user(email, role_names) for key, (email, role_names) in USERS.items()}

	def test_every_money_method_refuses_guests_drivers_and_other_roles(self):
		methods = [
			fn
			for fn in app_whitelisted_methods()
			if fn.__module__ not in GUEST_MODULES + FRAPPE_OVERRIDE_MODULES
			and f"{fn.__module__}.{fn.__name__}" not in LEGACY_GUEST_METHODS
		]
		self.assertTrue(any(fn.__name__ == "retry_payout" for fn in methods))
		self.assertTrue(any(fn.__name__ == "cancel_payout" for fn in methods))
		callers = {"Guest": set(), **{key: set(USERS[key][1]) for key in ("driver", "accountant", "manager")}}
		for fn in methods:
			match = ROLE_CHECK.search(inspect.getsource(fn))
			self.assertIsNotNone(match, f"{fn.__module__}.{fn.__name__} has no role check")
			allowed_roles = set(getattr(roles, match.group(1)))
			for caller, caller_roles in callers.items():
				user = "Guest" if caller == "Guest" else self.users[caller]
				allowed = bool(caller_roles & allowed_roles)
				with self.subTest(method=f"{fn.__module__}.{fn.__name__}", caller=caller):
					frappe.db.savepoint("role_matrix")
					refused = False
					try:
						with as_user(user):
							fn(**dummy_arguments(fn))
					except frappe.PermissionError:
						refused = True
					except Exception:
						refused = False  # past the role check: refused for another reason (no such payout)
					finally:
						_rollback_unless_committed()
					self.assertEqual(refused, not allowed)

	def test_guest_methods_are_only_the_daraja_callbacks(self):
		guests = {
			f"{fn.__module__}.{fn.__name__}" for fn in app_whitelisted_methods() if fn in frappe.guest_methods
		}
		self.assertEqual(
			guests,
			{
				"tuktuk_management.api.c2b.validation",
				"tuktuk_management.api.c2b.confirmation",
				"tuktuk_management.api.b2c.result",
				"tuktuk_management.api.b2c.timeout",
				"tuktuk_management.api.balance.result",
				"tuktuk_management.api.balance.timeout",
				*LEGACY_GUEST_METHODS,
			},
		)


class TestDriverSeesOnlyOwnRecords(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.users = {key: make_user(email, role_names) for key, (email, role_names) in USERS.items()}
		cls.vehicle = make_vehicle()
		cls.other_vehicle = make_vehicle()
		cls.driver = make_driver(cls.vehicle.name, user=cls.users["driver"], fare_percentage=50)
		cls.other = make_driver(cls.other_vehicle.name, user=cls.users["other_driver"], fare_percentage=50)
		cls.payment = apply_payment(cls.vehicle.mpesa_account, "100")
		cls.other_payment = apply_payment(cls.other_vehicle.mpesa_account, "100")

	def visible(self, user: str, doctype: str, **filters) -> set[str]:
		with as_user(user):
			return set(frappe.get_list(doctype, filters=filters, pluck="name", limit_page_length=0))

	def test_driver_lists_only_own_records(self):
		user = self.users["driver"]
		self.assertEqual(self.visible(user, "TukTuk Driver"), {self.driver.name})
		self.assertEqual(self.visible(user, "TukTuk Transaction"), {self.payment.transaction})
		self.assertEqual(self.visible(user, "TukTuk Payout"), {self.payment.payout})
		entries = self.visible(user, "TukTuk Ledger Entry")
		self.assertTrue(entries)
		parties = set(
			frappe.get_all("TukTuk Ledger Entry", filters={"name": ("in", list(entries))}, pluck="party")
		)
		self.assertEqual(parties, {self.driver.name})
		for doctype in ("TukTuk Callback Log", "TukTuk Vehicle"):
			with as_user(user), self.assertRaises(frappe.PermissionError):
				frappe.get_list(doctype, limit_page_length=1)

	def test_driver_cannot_open_another_drivers_documents(self):
		user = self.users["driver"]
		cases = [
			("TukTuk Driver", self.driver.name, self.other.name),
			("TukTuk Transaction", self.payment.transaction, self.other_payment.transaction),
			("TukTuk Payout", self.payment.payout, self.other_payment.payout),
		]
		for doctype, own, other in cases:
			with self.subTest(doctype=doctype):
				self.assertTrue(
					frappe.has_permission(doctype, "read", frappe.get_doc(doctype, own), user=user)
				)
				self.assertFalse(
					frappe.has_permission(doctype, "read", frappe.get_doc(doctype, other), user=user)
				)
				self.assertFalse(
					frappe.has_permission(doctype, "write", frappe.get_doc(doctype, own), user=user)
				)
				with as_user(user), self.assertRaises(frappe.PermissionError):
					frappe.get_doc(doctype, other).check_permission("read")

	def test_unlinked_driver_sees_nothing_and_staff_see_everything(self):
		self.assertEqual(self.visible(self.users["unlinked_driver"], "TukTuk Payout"), set())
		self.assertEqual(self.visible(self.users["unlinked_driver"], "TukTuk Driver"), set())
		for staff in ("accountant", "manager"):
			names = self.visible(
				self.users[staff], "TukTuk Payout", driver=("in", [self.driver.name, self.other.name])
			)
			self.assertEqual(names, {self.payment.payout, self.other_payment.payout}, staff)

	def test_a_user_is_linked_to_one_driver_only(self):
		with self.assertRaises(frappe.ValidationError):
			make_driver(user=self.users["driver"])
