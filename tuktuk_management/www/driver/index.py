"""The driver portal (``/driver``): today's progress, recent payments and payouts, a statement.

Phone-first, behind login, for a user with the TukTuk Driver role whose TukTuk Driver record
links to them (``TukTuk Driver.user``). The driver shown is always the logged-in user's own: no
request parameter names a driver, so there is nothing to change to see someone else.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import add_days, format_datetime, getdate, nowdate

from tuktuk_management import roles
from tuktuk_management.ledger import portal
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.statement import StatementTooLong
from tuktuk_management.permissions import driver_of
from tuktuk_management.www.driver import requests as requests_page

no_cache = 1
STATEMENT_DAYS_DEFAULT = 7
STATEMENT_DAYS_MAX = 92
ACCOUNT_LABELS = {"target": "Target", "deposit": "Deposit", "payable": "To be paid out"}


def get_context(context):
	if frappe.session.user == "Guest":
		frappe.local.flags.redirect_location = "/login?redirect-to=/driver"
		raise frappe.Redirect
	driver = driver_of(frappe.session.user) if roles.DRIVER in frappe.get_roles() else None
	if not driver:
		frappe.throw(_("This page is for drivers with a TukTuk Driver record."), frappe.PermissionError)
	settings = load_settings(frappe.db)
	today = portal.driver_today(frappe.db, settings, driver)
	from_date, to_date, error = _statement_range()
	statement = None
	if not error:
		try:
			statement = portal.statement(frappe.db, driver, from_date, to_date)
		except StatementTooLong:
			error = _("Too many lines: choose a shorter period.")
	context.no_cache = 1
	context.show_sidebar = False
	context.title = _("My day")
	context.today = today
	context.payments = portal.recent_payments(frappe.db, driver)
	context.payouts = portal.recent_payouts(frappe.db, driver)
	context.statement = _statement_rows(statement) if statement else None
	context.statement_error = error
	context.requests_available = bool(requests_page.available())  # day off, withdrawals (lifecycle)
	context.from_date = str(from_date)
	context.to_date = str(to_date)
	return context


def _statement_rows(statement) -> dict:
	"""The statement as the page shows it: short times, labelled accounts, balances as text."""

	def balances(values: dict) -> str:
		return " · ".join(f"{_(ACCOUNT_LABELS.get(a, a))} {v:,}" for a, v in values.items())

	return {
		"opening": balances(statement.opening_kes),
		"closing": balances(statement.closing_kes),
		"lines": [
			{
				"when": format_datetime(line.posting_datetime, "dd MMM HH:mm"),
				"account": _(ACCOUNT_LABELS.get(line.account, line.account)),
				"in_kes": line.credit_kes,
				"out_kes": line.debit_kes,
			}
			for line in statement.lines
		],
	}


def _statement_range():
	"""``from_date``/``to_date`` from the query string (default: the last week); an error text for
	an unreadable, reversed or too long range."""
	end = getdate(nowdate())
	start = add_days(end, -STATEMENT_DAYS_DEFAULT + 1)
	try:
		if frappe.form_dict.get("to_date"):
			end = getdate(frappe.form_dict.to_date)
		if frappe.form_dict.get("from_date"):
			start = getdate(frappe.form_dict.from_date)
	except Exception:
		return start, end, _("Dates must look like 2026-11-21.")
	if end < start:
		return start, end, _("The end date is before the start date.")
	if (end - start).days >= STATEMENT_DAYS_MAX:
		return start, end, _("Choose at most {0} days.").format(STATEMENT_DAYS_MAX)
	return start, end, ""
