"""The original app's method names, kept for the people and systems that call them.

- Callback URLs the original registered with Daraja (guest POST): ``payment_confirmation``,
  ``payment_validation`` and their twins ``mpesa_confirmation``, ``mpesa_validation``. They are
  aliases of :mod:`tuktuk_management.api.c2b`'s endpoints without the token, accepted only while
  TukTuk Settings ``accept_legacy_callback_urls`` is on (see :mod:`tuktuk_management.legacy.callbacks`).
- The seed runbook's console calls (``bench console`` / ``bench execute`` / ``frappe.call`` from the
  desk): ``mpesa_confirmation(data)`` outside a web request, the reconciliation calls (whitelisted
  for TukTuk Manager), ``process_uncaptured_payment``, ``add_missed_transaction``.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from werkzeug.wrappers import Response

import frappe
from frappe import _
from frappe.utils import get_datetime, getdate

from tuktuk_management import roles
from tuktuk_management.api.c2b import respond_confirmation, respond_validation
from tuktuk_management.api.corrections import allocate, record_missed
from tuktuk_management.ledger import reconcile
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.legacy import callbacks as legacy
from tuktuk_management.legacy import runbook
from tuktuk_management.stored_callbacks import receive_confirmation

CONSOLE_SOURCE_IP = "console"


# -- The original app's C2B callback URLs (Daraja still calls them until the new ones are registered)
@frappe.whitelist(allow_guest=True, methods=["POST"])
def payment_confirmation() -> Response:
	"""The original's registered ConfirmationURL: as ``tuktuk_management.api.c2b.confirmation``
	without the token, while TukTuk Settings accepts legacy callback URLs (else 403, stored)."""
	return respond_confirmation(None, legacy_url=legacy.PAYMENT_CONFIRMATION)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def payment_validation() -> Response:
	"""The original's registered ValidationURL: as ``tuktuk_management.api.c2b.validation``
	without the token, while TukTuk Settings accepts legacy callback URLs (else 403, stored)."""
	return respond_validation(None, legacy_url=legacy.PAYMENT_VALIDATION)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def mpesa_validation() -> Response:
	"""The original's second validation URL: as :func:`payment_validation`."""
	return respond_validation(None, legacy_url=legacy.MPESA_VALIDATION)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def mpesa_confirmation(data: dict | str | None = None) -> Response | dict:
	"""Two callers share this name.

	At ``POST /api/method/tuktuk_management.api.tuktuk.mpesa_confirmation`` (the original's second
	confirmation URL) it is :func:`payment_confirmation`; the body is read from the request, never
	from ``data``.

	From the console (no web request) it processes a C2B confirmation body (Daraja shape, a dict or
	JSON text in ``data``) exactly as the webhook does, minus its token and IP checks: stored raw
	(committed), applied, logged. Returns the acknowledgement Daraja would get (``ResultCode``,
	``ResultDesc``) plus ``status`` (the callback log status: Processed, Duplicate, Conflict,
	Unallocated, Invalid, Received while paused, Failed) and ``transaction`` (the TukTuk
	Transaction name, or None).

	    bench --site SITE execute tuktuk_management.api.tuktuk.mpesa_confirmation \\
	        --kwargs '{"data": {"TransID": "...", ...}}'
	"""
	if _web_request_for(legacy.MPESA_CONFIRMATION):
		return respond_confirmation(None, legacy_url=legacy.MPESA_CONFIRMATION)
	if data is None:
		frappe.throw(_("Give the confirmation body as data."))
	raw_body = data if isinstance(data, str) else json.dumps(data)
	result = receive_confirmation(raw_body, source_ip=CONSOLE_SOURCE_IP)
	return {**result.reply, "status": result.status, "transaction": result.transaction}


def _web_request_for(method: str) -> bool:
	"""True inside a web request to ``/api/method/<method>`` (any API version prefix)."""
	request = getattr(frappe.local, "request", None)
	return request is not None and request.path.rstrip("/").endswith(f"/{method}")


# -- Reconciliation console calls of the seed runbook (managers only) ------------------------------
def _resolve_driver(driver_name: str) -> frappe._dict:
	"""A driver by its ID (document name) or by its unique ``driver_name``; throws if none or ambiguous."""
	fields = ["name", "driver_name", "current_balance", "last_close_date"]
	row = frappe.db.get_value("TukTuk Driver", driver_name, fields, as_dict=True)
	if row:
		return row
	rows = frappe.get_all("TukTuk Driver", filters={"driver_name": driver_name}, fields=fields, limit=2)
	if len(rows) != 1:
		frappe.throw(
			_("No single driver is named {0}; give the driver's ID.").format(frappe.bold(driver_name)),
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


def _check(driver: frappe._dict) -> runbook.BalanceCheck:
	row = reconcile.driver_cache_rows(frappe.db, driver.name)[0]["current_balance"]
	return runbook.BalanceCheck(driver.name, driver.driver_name, row["cached"], row["ledger"])


@frappe.whitelist(methods=["GET", "POST"])
def reconcile_driver_balance(driver_name: str, date: str | None = None) -> dict:
	"""Compare one driver's ``current_balance`` with its ledger sum (read-only).

	driver_name: the driver's ID (TukTuk Driver name), or its unique person's name. Returns the
	runbook's keys (see :mod:`tuktuk_management.legacy.runbook`): ``driver_name`` (ID),
	``driver`` (person's name), ``old_balance``, ``calculated_balance`` (ledger sum, KES),
	``discrepancy`` (old − calculated), ``transactions_count`` (payments since ``from_datetime``:
	the start of ``date`` if given, else of the period since the last close) and ``message``.

	    frappe.call("tuktuk_management.api.tuktuk.reconcile_driver_balance", driver_name="DRV-112001")
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	driver = _resolve_driver(driver_name)
	since = _period_start(driver, date)
	until = since + timedelta(days=1) if date else None
	return runbook.reconcile_reply(
		_check(driver),
		transactions_count=_transactions_count(driver.name, since, until),
		from_datetime=str(since),
	)


@frappe.whitelist(methods=["POST"])
def fix_driver_balance(driver_name: str, auto_fix: bool | str = False) -> dict:
	"""Set one driver's drifted caches to their ledger sums, recorded as a reconciliation run and
	as a comment on the driver (old and new values); with ``auto_fix`` false (the default,
	parsed strictly: "false" is false) only report what would change.

	Returns ``success``, ``message``, ``driver_name`` (ID), ``driver`` (person's name),
	``old_balance``, ``new_balance``, ``adjustment`` (old − new, KES), ``transactions_count``
	and ``fixed``.

	    frappe.call("tuktuk_management.api.tuktuk.fix_driver_balance", driver_name="DRV-112001", auto_fix=True)
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	from tuktuk_management.api.reconciliation import execute_reconciliation, strict_bool

	fix = strict_bool(auto_fix, "auto_fix")
	driver = _resolve_driver(driver_name)
	check = _check(driver)
	count = _transactions_count(driver.name, _period_start(driver, None))
	if not fix or not _drifted(driver.name):
		return runbook.fix_reply(check, new_balance=check.old_balance, transactions_count=count, fixed=False)
	result = execute_reconciliation(fix=True, driver=driver.name, triggered_by=frappe.session.user)
	_comment_fixes(result)
	new_balance = to_kes(frappe.db.get_value("TukTuk Driver", driver.name, "current_balance"))
	return runbook.fix_reply(
		check,
		new_balance=new_balance,
		transactions_count=count,
		fixed=bool(result.fixed),
		success=result.status != reconcile.ERROR,
	)


@frappe.whitelist(methods=["POST"])
def reconcile_all_drivers_balances(auto_fix: bool | str = False) -> dict:
	"""Reconcile every driver (one set-based query) and record the run; with ``auto_fix`` (parsed
	strictly: the string "false" is false) fix drifted caches, each fix commented on its driver.

	Returns ``success``, ``total_drivers``, ``drivers_checked``, ``drivers_with_discrepancies``,
	``total_discrepancy_amount`` (Σ |discrepancy| of ``current_balance``, KES), ``auto_fixed``
	(whether fixing was asked for) and ``results``: one row per driver with ``driver_name`` (ID),
	``driver`` (person's name), ``old_balance``, ``calculated_balance``, ``discrepancy`` and ``fixed``.
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	from tuktuk_management.api.reconciliation import execute_reconciliation, strict_bool

	fix = strict_bool(auto_fix, "auto_fix")
	names = dict(
		# nosemgrep: frappe-using-db-sql -- one read of every driver's name for the console report
		frappe.db.sql("select name, driver_name from `tabTukTuk Driver`")
	)
	checks = [
		runbook.BalanceCheck(
			row["driver"],
			names.get(row["driver"]) or "",
			row["current_balance"]["cached"],
			row["current_balance"]["ledger"],
		)
		for row in reconcile.driver_cache_rows(frappe.db)
	]
	result = execute_reconciliation(fix=fix, driver=None, triggered_by=frappe.session.user)
	if fix:
		_comment_fixes(result)
	return runbook.all_drivers_reply(
		checks,
		total_drivers=len(names),
		auto_fix=fix,
		fixed={d["driver"] for d in result.fixed},
		success=result.status != reconcile.ERROR,
	)


def _drifted(driver: str) -> bool:
	return bool(reconcile.driver_balance_discrepancies(frappe.db, driver)[1])


def _comment_fixes(result: reconcile.RunResult) -> None:
	"""Leave a comment with old and new values on every driver the run fixed, and commit."""
	by_driver: dict[str, list[dict]] = {}
	for fix in result.fixed:
		by_driver.setdefault(fix["driver"], []).append(fix)
	for driver, fixes in sorted(by_driver.items()):
		frappe.get_doc("TukTuk Driver", driver).add_comment("Comment", runbook.fix_comment(fixes, result.run))
	if by_driver:
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- console unit of work: the comments go with the committed fixes


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
