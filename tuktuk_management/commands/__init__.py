"""Bench commands of the app (``bench --site SITE <command>``)."""

from __future__ import annotations

import sys

import click

from frappe.commands import get_site, pass_context

from tuktuk_management.commands.upgrade import tuktuk_register_urls, tuktuk_upgrade_check


@click.command("tuktuk-reconcile")
@click.option("--fix", is_flag=True, default=False, help="Set drifted cached balances to their ledger sums.")
@click.option("--driver", default=None, help="Check only this driver (TukTuk Driver name / Sunny ID).")
@pass_context
def tuktuk_reconcile(context, fix: bool = False, driver: str | None = None):
	"""Reconcile cached driver balances with the ledger and check the ledger invariants.

	Exit codes: 0 clean, 1 drift or invariant breach found (also when fixed with --fix), 2 error.
	The run is recorded as a TukTuk Reconciliation Run and drift is emailed to the recipients in
	TukTuk Settings.
	"""
	import json

	import frappe
	from frappe.utils import update_progress_bar

	from tuktuk_management.api.reconciliation import execute_reconciliation

	site = get_site(context)
	code = 2
	try:
		frappe.init(site=site)
		frappe.connect()
		if driver and not frappe.db.exists("TukTuk Driver", driver):
			click.secho(f"Driver {driver} does not exist.", fg="red", err=True)
			sys.exit(2)
		click.echo(f"Checking {'driver ' + driver if driver else 'all drivers'} against the ledger...")

		def progress(done: int, total: int) -> None:
			update_progress_bar("Fixing drifted drivers", done - 1, total)

		result = execute_reconciliation(
			fix=fix,
			driver=driver,
			triggered_by=f"bench tuktuk-reconcile ({frappe.session.user})",
			on_progress=progress,
		)
		summary = result.as_dict()
		click.echo("")
		for d in result.report.discrepancies[:50]:
			click.echo(
				f"  {d['driver']}  {d['field']}: cached {d['cached']} KES, ledger {d['ledger']} KES, "
				f"difference {d['difference']} KES"
			)
		click.echo(
			json.dumps(
				{
					k: summary[k]
					for k in (
						"run",
						"status",
						"drivers_checked",
						"drivers_with_discrepancies",
						"total_discrepancy_kes",
						"invariant_breaches",
						"error",
					)
				}
			)
		)
		code = result.exit_code
	except SystemExit:
		raise
	except Exception as exc:
		click.secho(f"tuktuk-reconcile failed: {type(exc).__name__}: {exc}", fg="red", err=True)
		code = 2
	finally:
		frappe.destroy()
	sys.exit(code)


commands = [tuktuk_reconcile, tuktuk_upgrade_check, tuktuk_register_urls]


@click.command("tuktuk-health")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the report as JSON.")
@click.option(
	"--reset-job-stamps",
	is_flag=True,
	default=False,
	help="First set the app's Scheduled Job Types stamped in the future (time zone changed) to now.",
)
@pass_context
def tuktuk_health(context, as_json: bool = False, reset_job_stamps: bool = False):
	"""Is the scheduled work being done? The scheduler (enabled, not dormant, the app's minute job
	running), whether alerts can be emailed, the daily close, the reconciliation, callbacks and
	payouts waiting.

	Exit codes: 0 healthy, 1 degraded (warnings), 2 error (scheduled work not happening, a close
	or reconciliation overdue, or the check itself failed).
	"""
	import json

	import frappe

	from tuktuk_management.health import report

	site = get_site(context)
	code = 2
	try:
		frappe.init(site=site)
		frappe.connect()
		if reset_job_stamps:
			from frappe.utils import now_datetime

			from tuktuk_management.health import reset_future_job_stamps

			names = reset_future_job_stamps(now_datetime())
			frappe.db.commit()  # nosemgrep: frappe-manual-commit -- bench command: the job stamps reset are its unit of work
			click.echo(f"Reset to now: {', '.join(names) or 'none stamped in the future'}", err=True)
		result = report()
		code = result["exit_code"]
		if as_json:
			click.echo(json.dumps(result, indent=1, default=str))
		else:
			colours = {"ok": "green", "warning": "yellow", "critical": "red"}
			click.echo(f"{result['site']} at {result['checked_at']}: {result['status'].upper()}")
			for check in result["checks"]:
				click.secho(f"  [{check['level']:>8}] {check['message']}", fg=colours.get(check["level"]))
	except Exception as exc:
		click.secho(f"tuktuk-health failed: {type(exc).__name__}: {exc}", fg="red", err=True)
		code = 2
	finally:
		frappe.destroy()
	sys.exit(code)


commands.append(tuktuk_health)
