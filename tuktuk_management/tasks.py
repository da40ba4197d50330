"""Scheduler entry points (``hooks.scheduler_events``): bounded batches, one unit of work each."""

from __future__ import annotations

import frappe
from frappe.utils import now_datetime

from tuktuk_management.api.c2b import apply_stored_confirmation
from tuktuk_management.ledger.callback_log import pending_confirmations
from tuktuk_management.ledger.settings import load_settings

PENDING_CALLBACKS_BATCH_MAX = 100


def process_pending_callbacks(batch_size_max: int = PENDING_CALLBACKS_BATCH_MAX) -> dict[str, int]:
	"""Apply stored C2B confirmations still Received (processing was paused) or Failed with
	attempts left, oldest first, at most ``batch_size_max`` per run (the next run takes the rest).

	Does nothing while TukTuk Settings' ``processing_paused`` is on. Each log is applied in its
	own unit of work (deadlocks retried, other errors mark it Failed) and committed. Returns the
	count of logs per resulting status.
	"""
	settings = load_settings(frappe.db)
	if settings.processing_paused:
		return {}
	counts: dict[str, int] = {}
	for log, raw_body in pending_confirmations(frappe.db, limit=batch_size_max):
		# apply_stored_confirmation commits after each log: a deliberate job-chunk boundary, so a
		# failure or a worker crash later in the batch never undoes payments already applied.
		status, _transaction = apply_stored_confirmation(log, raw_body, settings=settings, now=now_datetime())
		counts[status] = counts.get(status, 0) + 1
	return counts
