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

B_AMOUNTS = ("73117", "73129", "73131", "73143")
B_DRIVER_NAME = f"{http_role_check.MARK} Bravo7311"
CHARTS = ("TukTuk Daily Collections", "TukTuk Payouts by Status", "TukTuk Target Attainment")
GROW_AMOUNTS = ("88117", "88129", "88131")
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
	# A title only B's driver has (TukTuk Driver shows its title in links).
	frappe.db.set_value("TukTuk Driver", driver_b, "driver_name", B_DRIVER_NAME)
	account = _b_vehicle_account(driver_b)
	for amount in B_AMOUNTS:
		apply_payment(account, amount)
	_assign_newest_transaction(driver_b)
	yesterday = (now_datetime() - timedelta(days=1)).date()
	close_driver(frappe.db, driver_b, yesterday, settings=load_settings(frappe.db), now=now_datetime())
	# A submitted credit note of B's (reachable through Frappe's linked-documents methods).
	frappe.get_doc(
		{
			"doctype": "TukTuk Credit Note",
			"correction_type": "Balance adjustment",
			"driver": driver_b,
			"amount": 73,
			"driver_account": "deposit",
			"direction": "Increase",
			"counter_account": "revenue",
			"reason_code": "Goodwill",
			"remarks": "row-rule probe",
		}
	).insert().submit()
	frappe.db.commit()
	_view_charts_as_manager()
	result["accounts"] = {key: _b_vehicle_account(name) for key, name in result["drivers"].items()}
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
			("TukTuk Credit Note", "driver"),
		)
	}
	return result


def grow() -> dict:
	"""More of driver B's payments; the markers after."""
	driver_b = frappe.db.get_value("TukTuk Driver", {"user": http_role_check.USERS["other_driver"][0]})
	account = _b_vehicle_account(driver_b)
	for amount in GROW_AMOUNTS:
		apply_payment(account, amount)
	_assign_newest_transaction(driver_b)
	frappe.db.commit()
	_view_charts_as_manager()
	return markers(driver_b)


def _assign_newest_transaction(driver: str) -> None:
	"""A manager's to-do on B's newest payment (what the list sidebar's Assigned To counts)."""
	newest = frappe.get_all(
		"TukTuk Transaction", filters={"driver": driver}, pluck="name", order_by="creation desc", limit=1
	)
	frappe.get_doc(
		{
			"doctype": "ToDo",
			"allocated_to": http_role_check.USERS["manager"][0],
			"reference_type": "TukTuk Transaction",
			"reference_name": newest[0],
			"description": "row-rule probe",
		}
	).insert(ignore_permissions=True)


def _view_charts_as_manager() -> None:
	"""What a manager opening the workspace does for the chart Frappe computes itself (Group By;
	the Custom ones call the app's methods): computed, and cached by name where Frappe caches."""
	from frappe.desk.doctype.dashboard_chart.dashboard_chart import get as get_chart

	get_chart(chart_name="TukTuk Payouts by Status", refresh=1)
	frappe.db.commit()


def markers(driver: str) -> list[str]:
	"""Strings that only a row of ``driver`` holds: row names, TransIDs, receipts, its amounts."""
	found = set()
	for doctype, column in (
		("TukTuk Transaction", "driver"),
		("TukTuk Payout", "driver"),
		("TukTuk Daily Close", "driver"),
		("TukTuk Credit Note", "driver"),
		("TukTuk Ledger Entry", "party"),
	):
		found.update(frappe.get_all(doctype, filters={column: driver}, pluck="name"))
	found.update(
		t for t in frappe.get_all("TukTuk Transaction", {"driver": driver}, pluck="transaction_id") if t
	)
	if driver == frappe.db.get_value("TukTuk Driver", {"user": http_role_check.USERS["other_driver"][0]}):
		found.update(B_AMOUNTS + GROW_AMOUNTS + (B_DRIVER_NAME,))
	return sorted(found)


def teardown() -> None:
	frappe.db.sql(
		"update `tabTukTuk Driver` set driver_name = %s where driver_name = %s",
		(http_role_check.MARK, B_DRIVER_NAME),
	)
	frappe.db.delete("ToDo", {"description": "row-rule probe"})
	for chart in CHARTS:
		frappe.cache.delete_value(f"chart-data:{chart}")
	drivers = frappe.get_all("TukTuk Driver", filters={"driver_name": http_role_check.MARK}, pluck="name")
	if drivers:
		frappe.db.sql("delete from `tabTukTuk Daily Close` where driver in %s", (drivers,))
		notes = frappe.get_all("TukTuk Credit Note", filters={"driver": ("in", drivers)}, pluck="name")
		if notes:
			frappe.db.sql("delete from `tabTukTuk Ledger Entry` where voucher_no in %s", (notes,))
			frappe.db.sql("delete from `tabTukTuk Credit Note` where name in %s", (notes,))
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


# --- callback guard over HTTP (scripts/http_callback_guard_check.sh) -----------------------------

GUARD_FIELDS = (
	"allowed_callback_ips",
	"trusted_proxy_count",
	"refused_calls_stored_per_minute",
	"mpesa_paybill",
)


def configure_callbacks(
	allowed_callback_ips: str, trusted_proxy_count: int, refused_calls_stored_per_minute: int
) -> dict:
	"""Set the callback security settings (and no paybill check); return the previous values."""
	previous = {field: frappe.db.get_single_value("TukTuk Settings", field) for field in GUARD_FIELDS}
	frappe.db.set_single_value(
		"TukTuk Settings",
		{
			"allowed_callback_ips": allowed_callback_ips,
			"trusted_proxy_count": trusted_proxy_count,
			"refused_calls_stored_per_minute": refused_calls_stored_per_minute,
			"mpesa_paybill": "",
		},
	)
	frappe.db.commit()
	return previous


def restore_callbacks(previous: str) -> None:
	frappe.db.set_single_value("TukTuk Settings", frappe.parse_json(previous))
	frappe.db.commit()


def guard_counts(since: str, attacker: str, trans_id_prefix: str) -> dict:
	"""What the callbacks since ``since`` left: refused rows of ``attacker``, applied genuine ones."""
	summary = frappe.db.sql(
		"""select count(*), coalesce(sum(refused_count), 0), coalesce(sum(alerted), 0)
		from `tabTukTuk Refused Call Summary` where source_address = %s and modified >= %s""",
		(attacker, since),
	)[0]
	return {
		"rejected_logs": frappe.db.count(
			"TukTuk Callback Log", {"source_ip": attacker, "status": "Rejected", "creation": (">=", since)}
		),
		"rejected_log_sample": frappe.db.get_value(
			"TukTuk Callback Log",
			{"source_ip": attacker, "creation": (">=", since)},
			["source_ip", "remote_addr", "forwarded_for", "error"],
			as_dict=True,
		),
		"summary_rows": summary[0],
		"refused_counted": int(summary[1]),
		"alerts": int(summary[2]),
		"notifications": frappe.db.count(
			"Notification Log",
			{"document_type": "TukTuk Refused Call Summary", "creation": (">=", since)},
		),
		"genuine_processed": frappe.db.count(
			"TukTuk Callback Log",
			{"trans_id": ("like", f"{trans_id_prefix}%"), "status": "Processed", "creation": (">=", since)},
		),
		"genuine_transactions": frappe.db.count(
			"TukTuk Transaction", {"transaction_id": ("like", f"{trans_id_prefix}%")}
		),
		"genuine_log_sample": frappe.db.get_value(
			"TukTuk Callback Log",
			{"trans_id": ("like", f"{trans_id_prefix}%"), "creation": (">=", since)},
			["source_ip", "remote_addr", "forwarded_for", "status"],
			as_dict=True,
		),
	}


def delete_guard_rows(since: str, attacker: str, trans_id_prefix: str) -> None:
	"""Remove what the guard check wrote (its refused rows; genuine payments go with teardown)."""
	frappe.db.delete("TukTuk Callback Log", {"source_ip": attacker, "creation": (">=", since)})
	frappe.db.delete("TukTuk Refused Call Summary", {"source_address": attacker})
	frappe.db.delete(
		"Notification Log", {"document_type": "TukTuk Refused Call Summary", "creation": (">=", since)}
	)
	frappe.db.delete("TukTuk Callback Log", {"trans_id": ("like", f"{trans_id_prefix}%")})
	frappe.db.commit()
