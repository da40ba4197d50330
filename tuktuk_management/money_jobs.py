"""The scheduled payout sweep (``hooks.scheduler_events``, every 5 minutes): while instant payouts
are off and TukTuk Settings' ``sweep_enabled`` is on, once ``sweep_time`` has passed (site time
zone) pay each driver's accumulated payable, one payout per driver per date
(:mod:`tuktuk_management.ledger.owed.sweep`).

Kept apart from ``tasks.py`` so the lifecycle branches can grow both without touching each other;
it uses the same payout job (:func:`tuktuk_management.tasks.enqueue_payout_job`).
"""

from __future__ import annotations

import frappe
from frappe.utils import now_datetime

from tuktuk_management.ledger import owed
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.tasks import SCHEDULER_USER, enqueue_payout_job


def run_due_payout_sweep() -> dict:
	"""One bounded run of the sweep due now (nothing before the sweep time, nothing while instant
	payouts are on); each driver is one committed unit of work, its payout job enqueued after that
	commit (``manual``: sent although instant payouts are off). Returns the run's summary."""
	settings, money = load_settings(frappe.db), owed.load_money_settings(frappe.db)
	if owed.due_sweep_date(now_datetime(), settings, money) is None:
		return {"sweep_date": None}

	def commit() -> None:
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- one driver per unit of work (bounded job)

	run = owed.run_sweep(
		frappe.db,
		settings=settings,
		money=money,
		now=now_datetime(),
		commit=commit,
		rollback=frappe.db.rollback,
		user=SCHEDULER_USER,
	)
	for payout in run.payouts:
		enqueue_payout_job(payout, manual=True)
	if run.errors:
		frappe.log_error(
			title="TukTuk payout sweep failed",
			message="\n".join(f"{driver}: {error}" for driver, error in run.errors),
		)
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the payout jobs are enqueued after commit
	return run.as_dict()
