"""Bench side of the row-rule probe over HTTP (scripts/http_row_probe.sh, docs/security.md).

    bench --site SITE execute tuktuk_management.tests.http_probe.setup
    bench --site SITE execute tuktuk_management.tests.http_probe.read_methods
    bench --site SITE execute tuktuk_management.tests.http_probe.grow
    bench --site SITE execute tuktuk_management.tests.http_probe.teardown

``setup`` builds on the role check's fixtures (a manager, an accountant, driver A
``http-driver@example.com`` and driver B ``http-driver2@example.com``, one payment each) and gives
driver B more rows: payments with amounts no one else has, and a daily close. It returns the
names of everything that is B's (the markers the probe must never see in A's answers).
``grow`` adds more of B's payments between two probe rounds: an answer to A that changes with
them is derived from B's rows. ``read_methods`` lists every method Frappe whitelists once all
of Frappe's and the app's modules are imported (``frappe.whitelisted``), with its parameters,
HTTP methods and the override that answers it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from tuktuk_management.ledger.close import close_driver
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.tests import http_role_check
from tuktuk_management.tests.factories import apply_payment

B_AMOUNTS = ("7301", "7302", "7303", "7304")
GROW_AMOUNTS = ("8801", "8802", "8803")
DOCTYPES = (
	"TukTuk Driver",
	"TukTuk Transaction",
	"TukTuk Payout",
	"TukTuk Ledger Entry",
	"TukTuk Daily Close",
	"TukTuk Credit Note",
	"TukTuk Journal",
	"TukTuk Journal Line",
	"TukTuk Callback Log",
	"TukTuk Reconciliation Run",
	"TukTuk Reconciliation Discrepancy",
	"TukTuk Refused Call Summary",
)


def _b_vehicle_account(driver: str) -> str:
	vehicle = frappe.db.get_value("TukTuk Driver", driver, "assigned_tuktuk")
	return frappe.db.get_value("TukTuk Vehicle", vehicle, "mpesa_account")


def setup() -> dict:
	result = http_role_check.setup()
	driver_b = result["drivers"]["other_driver"]
	account = _b_vehicle_account(driver_b)
	for amount in B_AMOUNTS:
		apply_payment(account, amount)
	yesterday = (now_datetime() - timedelta(days=1)).date()
	close_driver(frappe.db, driver_b, yesterday, settings=load_settings(frappe.db), now=now_datetime())
	frappe.db.commit()
	result["markers"] = markers(driver_b)
	result["own_markers"] = markers(result["drivers"]["driver"])
	result["b_rows"] = {
		doctype: frappe.get_all(doctype, filters={column: driver_b}, pluck="name", order_by="name")
		for doctype, column in (
			("TukTuk Driver", "name"),
			("TukTuk Transaction", "driver"),
			("TukTuk Payout", "driver"),
			("TukTuk Ledger Entry", "party"),
			("TukTuk Daily Close", "driver"),
		)
	}
	return result


def grow() -> dict:
	"""More of driver B's payments; the markers after."""
	driver_b = frappe.db.get_value("TukTuk Driver", {"user": http_role_check.USERS["other_driver"][0]})
	account = _b_vehicle_account(driver_b)
	for amount in GROW_AMOUNTS:
		apply_payment(account, amount)
	frappe.db.commit()
	return markers(driver_b)


def markers(driver: str) -> list[str]:
	"""Strings that only a row of ``driver`` holds: row names, TransIDs, receipts, its amounts."""
	found = set()
	for doctype, column in (
		("TukTuk Transaction", "driver"),
		("TukTuk Payout", "driver"),
		("TukTuk Daily Close", "driver"),
		("TukTuk Ledger Entry", "party"),
	):
		found.update(frappe.get_all(doctype, filters={column: driver}, pluck="name"))
	found.update(
		t for t in frappe.get_all("TukTuk Transaction", {"driver": driver}, pluck="transaction_id") if t
	)
	if driver == frappe.db.get_value("TukTuk Driver", {"user": http_role_check.USERS["other_driver"][0]}):
		found.update(B_AMOUNTS + GROW_AMOUNTS)
	return sorted(found)


def teardown() -> None:
	drivers = frappe.get_all("TukTuk Driver", filters={"driver_name": http_role_check.MARK}, pluck="name")
	if drivers:
		frappe.db.sql("delete from `tabTukTuk Daily Close` where driver in %s", (drivers,))
	http_role_check.teardown()


SKIP_PACKAGES = ("frappe.tests", "frappe.commands", "frappe.patches", "frappe.parallel_test_runner")


def read_methods() -> list[dict]:
	"""Every whitelisted function after importing all of Frappe's and this app's modules."""
	for package in ("frappe", "tuktuk_management"):
		root = importlib.import_module(package)
		for module in pkgutil.walk_packages(root.__path__, package + "."):
			if module.name.startswith(SKIP_PACKAGES) or ".test_" in module.name:
				continue
			try:
				importlib.import_module(module.name)
			except Exception:
				continue
	overrides = frappe.get_hooks("override_whitelisted_methods") or {}
	methods = []
	for function in frappe.whitelisted:
		path = f"{function.__module__}.{function.__name__}"
		try:
			parameters = inspect.signature(inspect.unwrap(function)).parameters
		except (TypeError, ValueError):
			parameters = {}
		methods.append(
			{
				"path": path,
				"parameters": [
					{"name": name, "required": p.default is inspect.Parameter.empty}
					for name, p in parameters.items()
					if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
				],
				"http_methods": frappe.allowed_http_methods_for_whitelisted_func.get(function, []),
				"guest": function in frappe.guest_methods,
				"override": (overrides.get(path) or [None])[-1],
			}
		)
	return sorted(methods, key=lambda m: m["path"])
