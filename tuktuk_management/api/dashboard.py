"""Whitelisted reads behind the desk: number cards, dashboard chart sources, the driver form.

Every method is read-only (GET is fine) and role-checked: managers, accountants and System
Managers see fleet figures (:data:`DESK_READERS`); the driver overview follows the TukTuk
Driver read permission. The figures themselves come from the framework-free queries in
:mod:`tuktuk_management.ledger.figures` and :mod:`tuktuk_management.ledger.statement`.

Number card methods take Frappe's ``filters`` argument (unused) and return
``{"value", "fieldtype", "route", "route_options"}`` or a ready-made string; chart sources
return ``{"labels": [...], "datasets": [{"name", "values"}]}``.
"""

from __future__ import annotations

import importlib

import frappe
from frappe import _
from frappe.utils import add_days, getdate, now_datetime, nowdate, pretty_date

from tuktuk_management import roles
from tuktuk_management.ledger import figures
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.settings import load_settings

CHART_DAYS = 30
LATEST_PAYMENTS = 10
RECONCILIATION_RUN = "TukTuk Reconciliation Run"

# Actions other parts of the app provide; the desk shows a button only when its method exists.
ACTION_METHODS = {
	"allocate_payment": "tuktuk_management.api.corrections.allocate_payment",
	"retry_payout": "tuktuk_management.api.payouts.retry_payout",
	"cancel_payout": "tuktuk_management.api.payouts.cancel_payout",
	"run_reconciliation": "tuktuk_management.api.reconciliation.run_reconciliation",
}


def check_roles(allowed: tuple[str, ...]) -> None:
	"""Throw PermissionError unless the user has one of ``allowed`` (Administrator always passes).

	Every method here starts with ``frappe.only_for(roles.<GROUP>)`` (the app's rule) and then
	calls this with the same group: ``frappe.only_for`` returns early whenever
	``frappe.flags.in_test`` is set, so only this check lets a test see a refusal.
	"""
	if frappe.session.user == "Administrator":
		return
	if set(allowed).isdisjoint(frappe.get_roles()):
		frappe.throw(
			_("Only TukTuk Managers and Accountants can see the fleet's figures."),
			frappe.PermissionError,
			title=_("Not Permitted"),
		)


def method_exists(dotted_path: str) -> bool:
	"""True if ``dotted_path`` names a function of an importable module (no call made)."""
	module_name, _dot, attribute = dotted_path.rpartition(".")
	try:
		module = importlib.import_module(module_name)
	except ImportError:
		return False
	return callable(getattr(module, attribute, None))


def miss_limit() -> int:
	"""TukTuk Settings ``miss_limit`` (consecutive missed days before an alert; default 3, 0 = no
	alert), read as the core reads it (:func:`~tuktuk_management.ledger.settings.load_settings`)."""
	return load_settings(frappe.db).miss_limit


def fleet_today() -> figures.FleetToday:
	settings = load_settings(frappe.db)
	return figures.fleet_today(frappe.db, settings, getdate(nowdate()), miss_limit=settings.miss_limit)


@frappe.whitelist()
def desk_context() -> dict:
	"""What the desk scripts need once: ``{"miss_limit": int, "actions": {name: bool}}`` (which
	action methods are installed) and ``can_move_money`` (the user may press them)."""
	frappe.only_for(roles.DESK_READERS)
	check_roles(roles.DESK_READERS)
	return context_for_user()


def context_for_user() -> dict:
	user_roles = set(frappe.get_roles())
	return {
		"miss_limit": miss_limit(),
		"actions": {name: method_exists(path) for name, path in ACTION_METHODS.items()},
		"can_move_money": bool(user_roles & set(roles.MONEY_MOVERS)),
	}


# Number cards --------------------------------------------------------------------------------


@frappe.whitelist()
def todays_collections(filters: str | dict | list | None = None) -> dict:
	"""Number card: KES received today (all payments by M-Pesa time, suspense included)."""
	frappe.only_for(roles.DESK_READERS)
	check_roles(roles.DESK_READERS)
	today = fleet_today()
	return {
		"value": today.collections_kes,
		"fieldtype": "Currency",
		"route": ["query-report", "Daily Collections"],
		"route_options": {"from_date": str(today.business_date), "to_date": str(today.business_date)},
	}


@frappe.whitelist()
def target_progress(filters: str | dict | list | None = None) -> str:
	"""Number card: the Active drivers' target collected so far today against the total due,
	as ``"12,300 of 30,000 (41%)"`` (KES)."""
	frappe.only_for(roles.DESK_READERS)
	check_roles(roles.DESK_READERS)
	today = fleet_today()
	percent = round(100 * today.target_collected_kes / today.target_due_kes) if today.target_due_kes else 0
	return _("{0} of {1} ({2}%)").format(
		f"{today.target_collected_kes:,}", f"{today.target_due_kes:,}", percent
	)


def _driver_card(value: int, route_options: dict) -> dict:
	return {
		"value": value,
		"fieldtype": "Int",
		"route": ["List", "TukTuk Driver"],
		"route_options": route_options,
	}


@frappe.whitelist()
def drivers_on_target(filters: str | dict | list | None = None) -> dict:
	"""Number card: Active drivers whose collections today reached their effective target."""
	frappe.only_for(roles.DESK_READERS)
	check_roles(roles.DESK_READERS)
	return _driver_card(fleet_today().drivers_on_target, {"status": "Active", "left_to_target": 0})


@frappe.whitelist()
def drivers_behind_target(filters: str | dict | list | None = None) -> dict:
	"""Number card: Active drivers still short of today's effective target."""
	frappe.only_for(roles.DESK_READERS)
	check_roles(roles.DESK_READERS)
	return _driver_card(fleet_today().drivers_behind, {"status": "Active", "left_to_target": [">", 0]})


@frappe.whitelist()
def drivers_at_miss_limit(filters: str | dict | list | None = None) -> dict:
	"""Number card: Active drivers whose consecutive missed days reached the miss limit."""
	frappe.only_for(roles.DESK_READERS)
	check_roles(roles.DESK_READERS)
	limit = miss_limit()
	if limit <= 0:  # no alert: nobody is at the limit
		return {"value": 0, "fieldtype": "Int", "route": ["List", "TukTuk Driver"]}
	return _driver_card(
		fleet_today().drivers_at_miss_limit, {"status": "Active", "consecutive_misses": [">=", limit]}
	)


@frappe.whitelist()
def payouts_needing_attention(filters: str | dict | list | None = None) -> dict:
	"""Number card: payouts Failed, Unknown, or Queued/Sent for over 30 minutes."""
	frappe.only_for(roles.DESK_READERS)
	check_roles(roles.DESK_READERS)
	attention = figures.payouts_needing_attention(frappe.db, now=now_datetime())
	return {"value": attention.total, "fieldtype": "Int", "route": ["query-report", "Payout Monitor"]}


@frappe.whitelist()
def last_reconciliation(filters: str | dict | list | None = None) -> str:
	"""Number card: the latest TukTuk Reconciliation Run's status and age, e.g. ``"Clean · 2 hours
	ago"``; ``"Not run yet"`` before the first run (or before reconciliation is installed)."""
	frappe.only_for(roles.DESK_READERS)
	check_roles(roles.DESK_READERS)
	if not frappe.db.table_exists(RECONCILIATION_RUN):
		return _("Not run yet")
	rows = frappe.get_all(
		RECONCILIATION_RUN,
		fields=["status", "started_at", "drivers_with_discrepancies"],
		order_by="started_at desc",
		limit=1,
	)
	if not rows:
		return _("Not run yet")
	run = rows[0]
	status = _(run.status) if run.status else _("Unknown")
	if run.drivers_with_discrepancies:
		status = _("{0} ({1} drivers)").format(status, run.drivers_with_discrepancies)
	return f"{status} · {pretty_date(run.started_at)}" if run.started_at else status


# Dashboard chart sources -------------------------------------------------------------------


def _chart_range(from_date: str | None, to_date: str | None) -> tuple:
	end = getdate(to_date) if to_date else getdate(nowdate())
	start = getdate(from_date) if from_date else add_days(end, -(CHART_DAYS - 1))
	return getdate(start), end


@frappe.whitelist()
def daily_collections_chart(
	chart_name: str | None = None,
	chart: str | None = None,
	no_cache: str | None = None,
	filters: str | None = None,
	from_date: str | None = None,
	to_date: str | None = None,
	timespan: str | None = None,
	time_interval: str | None = None,
	heatmap_year: str | None = None,
) -> dict:
	"""Chart source "TukTuk Daily Collections": per day over the last 30 days, KES to the
	company's targets, to drivers (shares) and to deposits and suspense."""
	frappe.only_for(roles.DESK_READERS)
	check_roles(roles.DESK_READERS)
	start, end = _chart_range(from_date, to_date)
	days = figures.collections_by_day(frappe.db, start, end)
	return {
		"labels": [frappe.format(day.business_date, "Date") for day in days],
		"datasets": [
			{"name": _("Target"), "values": [day.target_contribution_kes for day in days]},
			{"name": _("Driver share"), "values": [day.driver_share_kes for day in days]},
			{
				"name": _("Deposit and suspense"),
				"values": [day.deposit_contribution_kes + day.unallocated_kes for day in days],
			},
		],
	}


@frappe.whitelist()
def target_attainment_chart(
	chart_name: str | None = None,
	chart: str | None = None,
	no_cache: str | None = None,
	filters: str | None = None,
	from_date: str | None = None,
	to_date: str | None = None,
	timespan: str | None = None,
	time_interval: str | None = None,
	heatmap_year: str | None = None,
) -> dict:
	"""Chart source "TukTuk Target Attainment": percent of drivers who met their target, per
	day over the last 30 days (today live)."""
	frappe.only_for(roles.DESK_READERS)
	check_roles(roles.DESK_READERS)
	start, end = _chart_range(from_date, to_date)
	days = figures.target_attainment(
		frappe.db, load_settings(frappe.db), start, end, today=getdate(nowdate())
	)
	return {
		"labels": [frappe.format(day.business_date, "Date") for day in days],
		"datasets": [{"name": _("Drivers on target (%)"), "values": [str(day.rate_percent) for day in days]}],
	}


# Driver form -----------------------------------------------------------------------------------


@frappe.whitelist()
def driver_overview(driver: str) -> dict:
	"""Today's picture of one driver for the form, in whole KES.

	Returns ``{target_kes, base_target_kes, rollover_kes (None until the daily close adds
	target_rollover), collected_kes, left_to_target_kes, deposit_kes, payable_kes,
	consecutive_misses, miss_limit, latest_payments: [...], actions: {...}, can_move_money}``.
	Needs read permission on that TukTuk Driver.
	"""
	frappe.only_for(roles.DESK_USERS)
	check_roles(roles.DESK_USERS)
	frappe.has_permission("TukTuk Driver", "read", driver, throw=True)
	settings = load_settings(frappe.db)
	has_rollover = frappe.get_meta("TukTuk Driver").has_field("target_rollover")
	fields = [
		"daily_target",
		"current_balance",
		"left_to_target",
		"current_deposit_balance",
		"payout_pending",
		"consecutive_misses",
	] + (["target_rollover"] if has_rollover else [])
	row = frappe.db.get_value("TukTuk Driver", driver, fields, as_dict=True)
	if not row:
		frappe.throw(_("Driver {0} not found").format(driver), frappe.DoesNotExistError)
	base_kes = to_kes(row.daily_target) or settings.global_daily_target_kes
	rollover_kes = to_kes(row.target_rollover) if has_rollover else None
	context = context_for_user()
	return {
		"base_target_kes": base_kes,
		"rollover_kes": rollover_kes,
		"target_kes": base_kes + (rollover_kes or 0),
		"collected_kes": to_kes(row.current_balance),
		"left_to_target_kes": to_kes(row.left_to_target),
		"deposit_kes": to_kes(row.current_deposit_balance),
		"payable_kes": to_kes(row.payout_pending),
		"consecutive_misses": int(row.consecutive_misses or 0),
		"miss_limit": context["miss_limit"],
		"latest_payments": figures.latest_payments(frappe.db, driver, limit=LATEST_PAYMENTS),
		"actions": context["actions"],
		"can_move_money": context["can_move_money"],
	}


@frappe.whitelist()
def driver_statement(
	driver: str | None = None, from_date: str | None = None, to_date: str | None = None
) -> dict:
	"""A driver's statement as data, for drivers (who have no desk) and for scripts.

	driver: TukTuk Driver name; managers and accountants must give one, a TukTuk Driver user gets
	their own (the driver whose ``user`` is them) and is refused anyone else. Dates default to the
	last 30 days to today. Returns ``{driver, from_date, to_date, opening_kes, closing_kes,
	lines: [{posting_datetime, account, debit_kes, credit_kes, voucher_type, voucher_no,
	balances_kes_after}]}`` with balances per account (target, deposit, payable), whole KES.
	"""
	frappe.only_for(roles.DESK_USERS)
	check_roles(roles.DESK_USERS)
	from tuktuk_management.ledger.statement import StatementTooLong
	from tuktuk_management.ledger.statement import driver_statement as build_statement
	from tuktuk_management.tuktuk_management.report.driver_statement.driver_statement import (
		DEFAULT_DAYS,
		statement_driver,
	)

	name = statement_driver(driver)
	if not name:
		frappe.throw(_("Choose a driver."))
	end = getdate(to_date) if to_date else getdate(nowdate())
	start = getdate(from_date) if from_date else add_days(end, -DEFAULT_DAYS)
	try:
		statement = build_statement(frappe.db, name, getdate(start), end)
	except StatementTooLong as exc:
		frappe.throw(_("Too many ledger lines: {0}").format(exc), title=_("Choose a shorter period"))
	except ValueError:
		frappe.throw(_("The To Date must be on or after the From Date."))
	return {
		"driver": name,
		"from_date": str(statement.from_date),
		"to_date": str(statement.to_date),
		"opening_kes": statement.opening_kes,
		"closing_kes": statement.closing_kes,
		"lines": [
			{
				"posting_datetime": str(line.posting_datetime),
				"account": line.account,
				"debit_kes": line.debit_kes,
				"credit_kes": line.credit_kes,
				"voucher_type": line.voucher_type,
				"voucher_no": line.voucher_no,
				"balances_kes_after": line.balances_kes_after,
			}
			for line in statement.lines
		],
	}
