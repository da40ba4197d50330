"""Row-level rules for drivers (DESIGN §7): a TukTuk Driver user sees only their own records.

Wired in ``hooks.py`` as ``permission_query_conditions`` (lists, reports, ``frappe.get_list``)
and ``has_permission`` (single documents). A user is "driver-only" when they have the TukTuk
Driver role and none of TukTuk Manager, TukTuk Accountant or System Manager; their driver is
the TukTuk Driver whose ``user`` field is them. A driver-only user without a linked driver sees
nothing. Everyone else is left to the DocType permissions (these hooks only ever deny).
"""

from __future__ import annotations

import frappe

from tuktuk_management import roles
from tuktuk_management.ledger import doctypes

DRIVER_DOCTYPE = doctypes.DRIVER
# DocType -> the column naming the driver a row belongs to.
DRIVER_COLUMN = {
	"TukTuk Driver": "name",
	"TukTuk Transaction": "driver",
	"TukTuk Payout": "driver",
	"TukTuk Ledger Entry": "party",
	"TukTuk Daily Close": "driver",
	"TukTuk Credit Note": "driver",
	"TukTuk Deposit Entry": "driver",
	"TukTuk Withdrawal Request": "driver",
	"TukTuk Day Off": "driver",
}
# DocTypes about several drivers or the fleet at once (raw callbacks, journals, reconciliation
# runs, refused calls): no row is a driver's own, so a driver-only user gets none, even if a
# DocPerm is ever added for the TukTuk Driver role.
NOT_FOR_DRIVERS = (
	"TukTuk Callback Log",
	"TukTuk Journal",
	"TukTuk Reconciliation Run",
	"TukTuk Refused Call Summary",
)
NOTHING = "1 = 0"


def is_driver_only(user: str | None = None) -> bool:
	"""True if ``user`` (default: session user) is a driver and not staff."""
	user = user or frappe.session.user
	if user == "Administrator":
		return False
	user_roles = set(frappe.get_roles(user))
	return roles.DRIVER in user_roles and not user_roles & {
		roles.MANAGER,
		roles.ACCOUNTANT,
		roles.SYSTEM_MANAGER,
	}


def driver_of(user: str | None = None) -> str | None:
	"""The TukTuk Driver linked to ``user`` (field ``user``), or None."""
	return frappe.db.get_value(DRIVER_DOCTYPE, {"user": user or frappe.session.user}, "name")


def _condition(doctype: str, user: str | None) -> str:
	if not is_driver_only(user):
		return ""
	driver = driver_of(user)
	if not driver or doctype not in DRIVER_COLUMN:
		return NOTHING
	condition = f"`tab{doctype}`.`{DRIVER_COLUMN[doctype]}` = {frappe.db.escape(driver)}"
	if doctype == "TukTuk Ledger Entry":
		condition += f" and `tab{doctype}`.`party_type` = {frappe.db.escape(DRIVER_DOCTYPE)}"
	return condition


def driver_query(user: str | None = None) -> str:
	return _condition("TukTuk Driver", user)


def transaction_query(user: str | None = None) -> str:
	return _condition("TukTuk Transaction", user)


def payout_query(user: str | None = None) -> str:
	return _condition("TukTuk Payout", user)


def ledger_entry_query(user: str | None = None) -> str:
	return _condition("TukTuk Ledger Entry", user)


def daily_close_query(user: str | None = None) -> str:
	return _condition("TukTuk Daily Close", user)


def credit_note_query(user: str | None = None) -> str:
	return _condition("TukTuk Credit Note", user)


def deposit_entry_query(user: str | None = None) -> str:
	return _condition("TukTuk Deposit Entry", user)


def withdrawal_request_query(user: str | None = None) -> str:
	return _condition("TukTuk Withdrawal Request", user)


def day_off_query(user: str | None = None) -> str:
	return _condition("TukTuk Day Off", user)


def nothing_for_drivers_query(user: str | None = None) -> str:
	"""For NOT_FOR_DRIVERS: no row for a driver-only user, no condition for anyone else."""
	return NOTHING if is_driver_only(user) else ""


def has_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""Deny a driver-only user any document that is not their own; None (no opinion) otherwise."""
	if not is_driver_only(user):
		return None
	if doc.doctype not in DRIVER_COLUMN:
		return False
	driver = driver_of(user)
	owner = doc.get(DRIVER_COLUMN[doc.doctype])
	if doc.doctype == "TukTuk Ledger Entry" and doc.get("party_type") != DRIVER_DOCTYPE:
		return False
	return bool(driver) and owner == driver and (ptype or "read") in ("read", "print")
