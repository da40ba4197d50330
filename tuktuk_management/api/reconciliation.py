"""Reconciliation from the desk, the scheduler, the console and the bench command (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Callable

import frappe
from frappe import _
from frappe.utils import now_datetime

from tuktuk_management import roles
from tuktuk_management.alerts import send_drift_alert
from tuktuk_management.ledger import reconcile
from tuktuk_management.ledger.flags import parse_bool
from tuktuk_management.ledger.settings import load_settings

ERROR_TITLE = "TukTuk reconciliation failed"
SCHEDULER = "Scheduled Job"


@frappe.whitelist(methods=["POST"])
def run_reconciliation(fix: bool | str = False, driver: str | None = None) -> dict:
	"""Check every driver's (or one driver's) cached balances against the ledger, and the ledger
	invariants; with ``fix``, set drifted caches to their ledger sums. Managers only.

	fix: parsed strictly ("false", "0", 0 and False are false; anything unrecognised is refused).
	driver: a TukTuk Driver name, or None for all. Returns the run: ``run`` (TukTuk Reconciliation
	Run name), ``status`` (Clean / Drift Found / Fixed / Error), ``exit_code`` (0/1/2),
	``drivers_checked``, ``drivers_with_discrepancies``, ``total_discrepancy_kes``,
	``invariant_breaches``, ``discrepancies`` and ``fixed``. Drift sends the alert email.
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	fix_requested = strict_bool(fix, "fix")
	if driver and not frappe.db.exists("TukTuk Driver", driver):
		frappe.throw(_("Driver {0} does not exist.").format(frappe.bold(driver)), title=_("Unknown Driver"))
	return execute_reconciliation(
		fix=fix_requested, driver=driver or None, triggered_by=frappe.session.user
	).as_dict()


def strict_bool(value: bool | str | int | None, label: str, default: bool = False) -> bool:
	"""``parse_bool`` with a manager-readable error."""
	try:
		return parse_bool(value, default=default)
	except ValueError:
		frappe.throw(
			_("{0} must be yes or no (true/false, 1/0), not {1}.").format(label, frappe.bold(repr(value))),
			title=_("Invalid Value"),
		)


def execute_reconciliation(
	*,
	fix: bool,
	driver: str | None,
	triggered_by: str,
	on_progress: Callable[[int, int], None] | None = None,
	alert: bool = True,
) -> reconcile.RunResult:
	"""Run, record and commit a reconciliation (its own unit of work); alert on drift.

	A failing check is rolled back, recorded as an Error run (committed) and logged; the
	result then has status Error (exit code 2).
	"""
	settings = load_settings(frappe.db)
	started_at = now_datetime()
	try:
		result = reconcile.run_reconciliation(
			frappe.db,
			settings=settings,
			clock=now_datetime,
			triggered_by=triggered_by,
			fix=fix,
			driver=driver,
			user=frappe.session.user,
			on_progress=on_progress,
		)
		# Unit-of-work boundary: the fixes and their run record are kept even if alerting fails.
		frappe.db.commit()  # nosemgrep: frappe-manual-commit
	except Exception as exc:
		frappe.db.rollback()
		result = reconcile.record_error_run(
			frappe.db,
			error=f"{type(exc).__name__}: {exc}",
			clock=now_datetime,
			triggered_by=triggered_by,
			fix=fix,
			started_at=started_at,
			user=frappe.session.user,
		)
		frappe.log_error(title=ERROR_TITLE, message=frappe.get_traceback())
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the Error run is the record of the failure
		return result
	if alert and result.status != reconcile.CLEAN:
		send_drift_alert(result)
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the alert's Email Queue rows and notifications
	return result


def scheduled_reconciliation() -> dict:
	"""The daily reconciliation job's path before it moved to tasks: a job enqueued under it
	before an upgrade still runs. Not whitelisted; drop it one release later."""
	from tuktuk_management.tasks import reconciliation_job

	return reconciliation_job()
