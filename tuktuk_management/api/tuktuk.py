"""Console calls of the seed runbook (``bench console`` / ``bench execute``); none is whitelisted."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import frappe
from frappe import _
from frappe.utils import get_datetime, getdate

from tuktuk_management import roles
from tuktuk_management.api.corrections import allocate, record_missed
from tuktuk_management.ledger import reconcile
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.stored_callbacks import receive_confirmation

CONSOLE_SOURCE_IP = "console"


def mpesa_confirmation(data: dict | str) -> dict:
	"""Process a C2B confirmation body (Daraja shape) exactly as the webhook does, minus its
	token and IP checks: stored raw (committed), applied, logged.

	data: the body as a dict or as JSON text. Returns the acknowledgement Daraja would get
	(``ResultCode``, ``ResultDesc``) plus ``status`` (the callback log status: Processed,
	Duplicate, Conflict, Unallocated, Invalid, Received while paused, Failed) and
	``transaction`` (the TukTuk Transaction name, or None).

	    bench --site SITE execute tuktuk_management.api.tuktuk.mpesa_confirmation \\
	        --kwargs '{"data": {"TransID": "...", ...}}'
	"""
	raw_body = data if isinstance(data, str) else json.dumps(data)
	result = receive_confirmation(raw_body, source_ip=CONSOLE_SOURCE_IP)
	return {**result.reply, "status": result.status, "transaction": result.transaction}


# -- Reconciliation console calls of the seed runbook (managers only) ------------------------------
def _resolve_driver(driver_name: str) -> frappe._dict:
	"""A driver by name (Sunny ID) or by its unique ``driver_name``; throws if none or ambiguous."""
	fields = ["name", "driver_name", "current_balance", "last_close_date"]
	row = frappe.db.get_value("TukTuk Driver", driver_name, fields, as_dict=True)
	if row:
		return row
	rows = frappe.get_all("TukTuk Driver", filters={"driver_name": driver_name}, fields=fields, limit=2)
	if len(rows) != 1:
		frappe.throw(
			_("No single driver is named {0}; give the driver's Sunny ID.").format(frappe.bold(driver_name)),
			title=_("Unknown Driver"),
		)
	return rows[0]


def _period_start(driver: frappe._dict, day: str | None) -> datetime:
	"""Start of the business day ``day``, or of the period the balance covers (the day after the
	last close; the driver's creation when never closed)."""
	if day:
		return datetime.combine(getdate(day), time(0))
	if driver.last_close_date:
		return datetime.combine(getdate(driver.last_close_date) + timedelta(days=1), time(0))
	return get_datetime(frappe.db.get_value("TukTuk Driver", driver.name, "creation"))


def _transactions_count(driver: str, since: datetime, until: datetime | None = None) -> int:
	filters = {"driver": driver, "creation": (">=", since)}
	if until:
		filters["creation"] = ("between", (since, until))
	return frappe.db.count("TukTuk Transaction", filters)


def reconcile_driver_balance(driver_name: str, date: str | None = None) -> dict:
	"""Compare one driver's ``current_balance`` with its ledger sum (read-only).

	Returns ``driver_name`` (the driver's name field), ``driver`` (Sunny ID), ``old_balance`` (the
	cached KES), ``calculated_balance`` (the ledger sum, KES — the whole ledger, never a time
	window), ``discrepancy`` (old − calculated), ``transactions_count`` (payments in the period),
	``from_datetime`` (start of ``date`` if given, else of the period since the last close) and
	``message``.

	    bench --site SITE execute tuktuk_management.api.tuktuk.reconcile_driver_balance --args '["D000123"]'
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	driver = _resolve_driver(driver_name)
	row = reconcile.driver_cache_rows(frappe.db, driver.name)[0]["current_balance"]
	since = _period_start(driver, date)
	until = since + timedelta(days=1) if date else None
	discrepancy = row["cached"] - row["ledger"]
	return {
		"driver_name": driver.driver_name,
		"driver": driver.name,
		"old_balance": row["cached"],
		"calculated_balance": row["ledger"],
		"discrepancy": discrepancy,
		"transactions_count": _transactions_count(driver.name, since, until),
		"from_datetime": str(since),
		"message": _("Balance matches the ledger.")
		if discrepancy == 0
		else _(
			"Cached balance differs from the ledger by {0} KES; fix_driver_balance sets it to the ledger sum."
		).format(discrepancy),
	}


def fix_driver_balance(driver_name: str, auto_fix: bool | str = True) -> dict:
	"""Set one driver's drifted caches to their ledger sums (recorded as a reconciliation run);
	with ``auto_fix`` false (parsed strictly) only report.

	Returns ``success``, ``message``, ``driver_name``, ``driver``, ``old_balance``,
	``new_balance``, ``adjustment`` (new − old, KES) and ``transactions_count``.
	"""
	from tuktuk_management.api.reconciliation import execute_reconciliation, strict_bool

	frappe.only_for(roles.MONEY_MOVERS)
	fix = strict_bool(auto_fix, "auto_fix", default=True)
	driver = _resolve_driver(driver_name)
	result = execute_reconciliation(fix=fix, driver=driver.name, triggered_by=frappe.session.user)
	new_balance = to_kes(frappe.db.get_value("TukTuk Driver", driver.name, "current_balance"))
	old = next(
		(d["cached"] for d in result.report.discrepancies if d["field"] == "current_balance"), new_balance
	)
	return {
		"success": result.status != reconcile.ERROR,
		"message": _("Reconciliation run {0}: {1}").format(result.run, _(result.status)),
		"driver_name": driver.driver_name,
		"driver": driver.name,
		"old_balance": old,
		"new_balance": new_balance,
		"adjustment": new_balance - old,
		"transactions_count": _transactions_count(driver.name, _period_start(driver, None)),
	}


def reconcile_all_drivers_balances(auto_fix: bool | str = False) -> dict:
	"""Reconcile every driver (one set-based query) and record the run; with ``auto_fix`` (parsed
	strictly: the string "false" is false) fix drifted caches.

	Returns ``success``, ``total_drivers``, ``drivers_checked``, ``drivers_with_discrepancies``,
	``total_discrepancy_amount`` (Σ |difference|, KES), ``auto_fixed`` (drivers fixed) and
	``results`` ``[{driver_name, discrepancy, fixed}]`` (one row per drifted driver).
	"""
	from tuktuk_management.api.reconciliation import execute_reconciliation, strict_bool

	frappe.only_for(roles.MONEY_MOVERS)
	fix = strict_bool(auto_fix, "auto_fix")
	result = execute_reconciliation(fix=fix, driver=None, triggered_by=frappe.session.user)
	per_driver: dict[str, int] = {}
	for d in result.report.discrepancies:  # the balance's difference, else the first other field's
		if d["field"] == "current_balance" or d["driver"] not in per_driver:
			per_driver[d["driver"]] = d["difference"]
	fixed_drivers = {d["driver"] for d in result.fixed}
	return {
		"success": result.status != reconcile.ERROR,
		"total_drivers": frappe.db.count("TukTuk Driver"),
		"drivers_checked": result.report.drivers_checked,
		"drivers_with_discrepancies": result.drivers_with_discrepancies,
		"total_discrepancy_amount": result.total_discrepancy_kes,
		"auto_fixed": len(fixed_drivers),
		"results": [
			{"driver_name": name, "discrepancy": amount, "fixed": name in fixed_drivers}
			for name, amount in sorted(per_driver.items())
		],
	}


def process_uncaptured_payment(
	transaction_id: str, driver: str | None = None, vehicle: str | None = None
) -> dict:
	"""Seed runbook name: allocate an Unallocated (suspense) payment to a driver or a vehicle's
	current driver, and commit. Same rules and reply as
	``tuktuk_management.api.corrections.allocate_payment``.

	    bench --site SITE execute tuktuk_management.api.tuktuk.process_uncaptured_payment \\
	        --kwargs '{"transaction_id": "TK12345678", "driver": "D000123"}'
	"""
	result = allocate(transaction_id, driver=driver, vehicle=vehicle)
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- console unit of work: `bench console` does not commit
	return result


def add_missed_transaction(
	transaction_id: str,
	amount: int | str,
	account: str,
	trans_time: str,
	driver: str | None = None,
	vehicle: str | None = None,
) -> dict:
	"""Seed runbook: add a payment M-Pesa received whose callback never arrived, and commit.
	Idempotent on TransID. Same rules and reply as
	``tuktuk_management.api.corrections.record_missed_payment``.

	    bench --site SITE execute tuktuk_management.api.tuktuk.add_missed_transaction \\
	        --kwargs '{"transaction_id": "TK12345678", "amount": 300, "account": "TT-7",
	                   "trans_time": "20261121121325"}'
	"""
	result = record_missed(transaction_id, amount, account, trans_time, driver=driver, vehicle=vehicle)
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- console unit of work: `bench console` does not commit
	return result
