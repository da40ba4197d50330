"""Driver portal: day-off and withdrawal requests (``/driver/requests``), once the app has them.

The requests themselves belong to the driver-lifecycle work: DocType **TukTuk Day Off** (driver,
day_off_date, reason, status Requested/Approved/Rejected) with the whitelisted
``tuktuk_management.api.days_off.request_day_off(day_off_date, reason)``, and DocType **TukTuk
Withdrawal Request** (driver, amount_kes, status) with
``tuktuk_management.api.withdrawals.request_withdrawal(amount_kes)``; each method returns
``{"name", "status"}`` and finds the driver from the session. A section appears only when its
DocType and its method both exist on the site; with neither the page does not exist (404) and
``/driver`` shows no link to it. The page lists only the logged-in driver's own requests (the
driver comes from the session, never from the request) and posts new ones with ``fetch`` and the
CSRF token; the page sends no driver.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import frappe
from frappe import _

from tuktuk_management import roles
from tuktuk_management.permissions import driver_of

no_cache = 1
ROWS_MAX = 20


@dataclass(frozen=True)
class RequestKind:
	"""``doctype`` (with a ``driver`` Link), the whitelisted ``method`` that files one, and the
	``fields`` the list shows when the DocType has them."""

	doctype: str
	method: str
	fields: tuple[str, ...]


KINDS = {
	"day_off": RequestKind(
		"TukTuk Day Off",
		"tuktuk_management.api.days_off.request_day_off",
		("day_off_date", "reason", "status"),
	),
	"withdrawal": RequestKind(
		"TukTuk Withdrawal Request",
		"tuktuk_management.api.withdrawals.request_withdrawal",
		("amount_kes", "status"),
	),
}


def _method_exists(path: str) -> bool:
	module, _dot, name = path.rpartition(".")
	try:
		return callable(getattr(importlib.import_module(module), name, None))
	except ImportError:
		return False


def available(kinds: dict[str, RequestKind] | None = None) -> dict[str, RequestKind]:
	"""The request kinds this site has: DocType installed and method importable."""
	return {
		key: kind
		for key, kind in (KINDS if kinds is None else kinds).items()
		if frappe.db.exists("DocType", kind.doctype) and _method_exists(kind.method)
	}


def own_rows(kind: RequestKind, driver: str) -> list[dict]:
	"""The newest ROWS_MAX rows of ``kind`` whose ``driver`` is ``driver`` (the caller's own, resolved
	from the session): name, creation and the kind's fields the DocType has."""
	meta = frappe.get_meta(kind.doctype)
	fields = ["name", "creation"] + [field for field in kind.fields if meta.has_field(field)]
	rows = frappe.get_all(
		kind.doctype,
		filters={"driver": driver},
		fields=fields,
		order_by="creation desc",
		limit_page_length=ROWS_MAX,
	)
	for row in rows:
		if row.get("amount_kes") is not None:
			row["amount_kes"] = int(row["amount_kes"])
	return rows


def _csrf_token() -> str:
	"""The session's CSRF token for the forms' ``fetch`` (made if the session has none yet; outside a
	web request there is no session to make it in: empty, and the page's script falls back to the
	``frappe.csrf_token`` Frappe writes into every page)."""
	token = (frappe.session.data or {}).get("csrf_token")
	if not token and getattr(frappe.local, "session_obj", None):
		token = frappe.sessions.get_csrf_token()
	return token or ""


def get_context(context):
	if frappe.session.user == "Guest":
		frappe.local.flags.redirect_location = "/login?redirect-to=/driver/requests"
		raise frappe.Redirect
	driver = driver_of(frappe.session.user) if roles.DRIVER in frappe.get_roles() else None
	if not driver:
		frappe.throw(_("This page is for drivers with a TukTuk Driver record."), frappe.PermissionError)
	kinds = available()
	if not kinds:
		raise frappe.PageDoesNotExistError
	context.no_cache = 1
	context.show_sidebar = False
	context.title = _("My requests")
	context.csrf_token = _csrf_token()
	context.sections = {
		key: {"method": kind.method, "rows": own_rows(kind, driver)} for key, kind in kinds.items()
	}
	return context
