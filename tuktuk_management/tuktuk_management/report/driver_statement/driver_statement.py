# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""Driver Statement: a driver's ledger lines in a date range with running balances per account.

Managers and accountants may open any driver; a user whose only TukTuk role is TukTuk Driver
sees only the driver linked to their user (TukTuk Driver ``user``). The closing balances are
checked against the driver's cached balances when the range runs to today.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import add_days, getdate, nowdate

from tuktuk_management import roles
from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.statement import StatementTooLong, cached_balances_kes, driver_statement

DEFAULT_DAYS = 30
STATEMENT_READERS = (roles.MANAGER, roles.ACCOUNTANT, roles.SYSTEM_MANAGER)
BALANCE_LABELS = {accounts.TARGET: "Target", accounts.DEPOSIT: "Deposit", accounts.PAYABLE: "Payable"}


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	driver = statement_driver(filters.get("driver"))
	if not driver:
		return columns(), [], _("Choose a driver.")
	to_date = getdate(filters.get("to_date") or nowdate())
	from_date = getdate(filters.get("from_date") or add_days(to_date, -DEFAULT_DAYS))
	try:
		statement = driver_statement(frappe.db, driver, from_date, to_date)
	except StatementTooLong as exc:
		frappe.throw(_("Too many ledger lines: {0}").format(exc), title=_("Choose a shorter period"))
	except ValueError:
		frappe.throw(_("The To Date must be on or after the From Date."))
	from tuktuk_management.ledger.owed.statement import payout_activity
	from tuktuk_management.legacy.statement import pre_ledger_lines

	legacy = pre_ledger_lines(frappe.db, driver, from_date, to_date)
	# Withdrawal requests and payouts not paid yet: information lines (no balance moves).
	legacy = [*legacy, *payout_activity(frappe.db, driver, from_date, to_date)]
	return columns(), rows(statement, legacy), None, chart(statement), summary(statement, to_date)


def statement_driver(requested: str | None) -> str | None:
	"""The driver the user may see: any (None until chosen) for managers and accountants, only
	their own for drivers (PermissionError for another driver or another role;
	DoesNotExistError for a driver user no driver is linked to)."""
	user_roles = set(frappe.get_roles())
	if user_roles & set(STATEMENT_READERS):
		if not requested:
			return None
		if not frappe.db.exists("TukTuk Driver", requested):
			frappe.throw(_("Driver {0} not found.").format(requested))
		return requested
	if roles.DRIVER not in user_roles:
		frappe.throw(_("Only TukTuk users can see driver statements."), frappe.PermissionError)
	own = own_driver()
	if not own:
		# The role is right; the data is missing (no driver has this user).
		frappe.throw(_("Your user is not linked to a driver."), frappe.DoesNotExistError)
	if requested and requested != own:
		frappe.throw(_("You can only see your own statement."), frappe.PermissionError)
	return own


def own_driver() -> str | None:
	"""The TukTuk Driver whose ``user`` is the session user (None while that field is absent)."""
	if not frappe.get_meta("TukTuk Driver").has_field("user"):
		return None
	return frappe.db.get_value("TukTuk Driver", {"user": frappe.session.user}, "name")


def columns() -> list[dict]:
	currency = {"fieldtype": "Currency", "width": 110}
	return [
		{"fieldname": "posting_datetime", "label": _("Posted"), "fieldtype": "Datetime", "width": 160},
		{"fieldname": "account", "label": _("Account"), "fieldtype": "Data", "width": 90},
		{
			"fieldname": "voucher_type",
			"label": _("Voucher Type"),
			"fieldtype": "Link",
			"options": "DocType",
			"width": 140,
		},
		{
			"fieldname": "voucher_no",
			"label": _("Voucher"),
			"fieldtype": "Dynamic Link",
			"options": "voucher_type",
			"width": 120,
		},
		{"fieldname": "debit", "label": _("Debit"), **currency},
		{"fieldname": "credit", "label": _("Credit"), **currency},
		{"fieldname": "target_balance", "label": _("Target Balance"), **currency, "width": 125},
		{"fieldname": "deposit_balance", "label": _("Deposit Balance"), **currency, "width": 125},
		{"fieldname": "payable_balance", "label": _("Payable Balance"), **currency, "width": 125},
		{"fieldname": "remarks", "label": _("Remarks"), "fieldtype": "Data", "width": 200},
	]


def _balances(balances_kes: dict[str, int]) -> dict:
	return {f"{account}_balance": balances_kes[account] for account in accounts.DRIVER_ACCOUNTS}


def rows(statement, pre_ledger=()) -> list[dict]:
	"""Opening, the ledger lines, Closing; ``pre_ledger`` lines (transactions recorded by the app
	this one replaced, without postings) are merged in by time and move no balance."""
	data = [{"account": _("Opening"), "bold": 1, **_balances(statement.opening_kes)}]
	pending = sorted(pre_ledger, key=lambda line: line.timestamp)
	for line in statement.lines:
		while pending and pending[0].timestamp <= line.posting_datetime:
			data.append(_pre_ledger_row(pending.pop(0)))
		data.append(
			{
				"posting_datetime": line.posting_datetime,
				"account": line.account,
				"voucher_type": line.voucher_type,
				"voucher_no": line.voucher_no,
				"debit": line.debit_kes,
				"credit": line.credit_kes,
				"remarks": (_("Reversal") + " " if line.is_reversal else "") + line.remarks,
				**_balances(line.balances_kes_after),
			}
		)
	data += [_pre_ledger_row(line) for line in pending]
	data.append(
		{
			"account": _("Closing"),
			"bold": 1,
			"debit": sum(line.debit_kes for line in statement.lines),
			"credit": sum(line.credit_kes for line in statement.lines),
			**_balances(statement.closing_kes),
		}
	)
	return data


def _pre_ledger_row(line) -> dict:
	if hasattr(line, "voucher_type"):  # ledger.owed.statement.ActivityLine
		return {
			"posting_datetime": line.timestamp,
			"account": _("payout"),
			"voucher_type": line.voucher_type,
			"voucher_no": line.voucher_no,
			"remarks": line.remarks,
		}
	return {
		"posting_datetime": line.timestamp,
		"account": _("pre-ledger"),
		"voucher_type": "TukTuk Transaction",
		"voucher_no": line.transaction,
		"remarks": line.remarks,
	}


def chart(statement) -> dict | None:
	"""Balances after each posting day (the last line of each day): a line chart, or bars when
	the range has a single posting day (a line needs two points)."""
	by_day: dict = {}
	for line in statement.lines:
		by_day[line.posting_datetime.date()] = line.balances_kes_after
	if not by_day:
		return None
	days = sorted(by_day)
	return {
		"data": {
			"labels": [frappe.format(day, "Date") for day in days],
			"datasets": [
				{"name": _(label), "values": [by_day[day][account] for day in days]}
				for account, label in BALANCE_LABELS.items()
			],
		},
		"type": "line" if len(days) > 1 else "bar",
		"fieldtype": "Currency",
	}


def summary(statement, to_date) -> list[dict]:
	closing = statement.closing_kes
	cards = [
		{"value": closing[account], "label": _("{0} (closing)").format(_(label)), "datatype": "Currency"}
		for account, label in BALANCE_LABELS.items()
	]
	if to_date >= getdate(nowdate()):
		matches = closing == cached_balances_kes(frappe.db, statement.driver)
		cards.append(
			{
				"value": _("Yes") if matches else _("No"),
				"label": _("Matches the driver's cached balances"),
				"datatype": "Data",
				"indicator": "Green" if matches else "Red",
			}
		)
	return cards
