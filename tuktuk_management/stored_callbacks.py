"""The site's side of stored callbacks: C2B confirmations and B2C results through the one routine.

Each function runs :func:`tuktuk_management.ledger.callback_log.receive_logged` (store raw,
commit, apply) or :func:`~tuktuk_management.ledger.callback_log.apply_logged` (apply a stored
body again) on ``frappe.db`` with what the site adds: the payout job enqueued after the payment
commits, an Error Log for a TransID or payout conflict, and one for a failure (the log is then
Failed and the scheduled jobs in :mod:`tuktuk_management.tasks` retry it). Used by the webhooks
(``api.c2b``, ``api.b2c``), the console (``api.tuktuk.mpesa_confirmation``), the demo and the
scheduled jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import frappe
from frappe.utils import now_datetime

from tuktuk_management.daraja import models
from tuktuk_management.ledger import c2b, payouts
from tuktuk_management.ledger.callback_log import (
	C2B_CONFIRMATION,
	Logged,
	apply_logged,
	process_logged_confirmation,
	receive_logged,
)
from tuktuk_management.ledger.settings import LedgerSettings, load_settings
from tuktuk_management.tasks import enqueue_payout_job

LOG_DOCTYPE = "TukTuk Callback Log"
C2B_FAILED_TITLE = "TukTuk C2B processing failed"
C2B_CONFLICT_TITLE = "TukTuk C2B TransID conflict"
B2C_FAILED_TITLE = "TukTuk B2C result processing failed"
B2C_CONFLICT_TITLE = "TukTuk B2C result conflict"


@dataclass(frozen=True)
class ConfirmationResult:
	"""What became of one confirmation: the callback log, its status, the reply for Daraja."""

	callback_log: str
	status: str
	transaction: str | None
	reply: dict


def receive_confirmation(
	raw_body: bytes | str, *, source_ip: str, settings: LedgerSettings | None = None, commit: bool = True
) -> ConfirmationResult:
	"""Store a confirmation body (committed), apply it and mark its log; the webhook after its checks.

	Commits the stored body, and the payment too unless ``commit`` is False: the webhook passes
	False, since Frappe commits every POST request at its end (``frappe.app.after_request``) and a
	commit here would be one more COMMIT + START TRANSACTION per callback. If the request fails
	after this, Frappe rolls the payment back and the stored body stays Received for the job.
	"""
	settings = settings or load_settings(frappe.db)
	now = now_datetime()
	logged = receive_logged(
		frappe.db,
		endpoint=C2B_CONFIRMATION,
		raw_body=raw_body,
		received_at=now,
		source_ip=source_ip,
		process=lambda log: process_logged_confirmation(frappe.db, log, raw_body, settings=settings, now=now),
		on_applied=_confirmation_applied,
		on_failed=_confirmation_failed,
		commit=commit,
	)
	return ConfirmationResult(logged.log, logged.status, _transaction(logged), models.confirmation_ack())


def apply_confirmation_log(
	log: str, raw_body: bytes | str, *, settings: LedgerSettings, now: datetime
) -> Logged[c2b.C2BOutcome]:
	"""Apply one stored confirmation again in its own unit of work and commit (the scheduled job).

	The core claims the log first and skips it unless still Received or Failed, so the webhook
	and the job never apply (and re-mark) the same log twice.
	"""
	return apply_logged(
		frappe.db,
		log,
		lambda: process_logged_confirmation(frappe.db, log, raw_body, settings=settings, now=now),
		now=now,
		on_applied=_confirmation_applied,
		on_failed=_confirmation_failed,
	)


def _transaction(logged: Logged[c2b.C2BOutcome]) -> str | None:
	return logged.outcome.transaction if logged.outcome else None


def _confirmation_applied(log: str, outcome: c2b.C2BOutcome) -> None:
	"""Before the payment commits: enqueue its payout job, log a TransID conflict."""
	if outcome.already_handled:
		return  # another process applied it and did this
	if outcome.payout:
		# Sent by a background job once this transaction commits: never inside this request, never
		# while the driver's row lock is held, never for a payment that rolled back.
		enqueue_payout_job(outcome.payout)
	if outcome.status == c2b.CONFLICT:
		frappe.log_error(
			title=C2B_CONFLICT_TITLE,
			message=f"TransID {outcome.trans_id} (callback log {log}): {outcome.reason}",
			reference_doctype=LOG_DOCTYPE,
			reference_name=log,
		)


def _confirmation_failed(log: str, exc: Exception) -> None:
	log_callback_error(log, exc, title=C2B_FAILED_TITLE)


def receive_result(
	raw_body: bytes | str,
	stored_body: bytes | str,
	*,
	endpoint: str,
	source_ip: str,
	settings: LedgerSettings,
) -> str:
	"""Store a B2C result/timeout body (``stored_body``, committed), apply ``raw_body`` under the
	payout row lock, mark its log and commit; the log status."""
	now = now_datetime()
	return receive_logged(
		frappe.db,
		endpoint=endpoint,
		raw_body=stored_body,
		received_at=now,
		source_ip=source_ip,
		process=lambda log: payouts.process_logged_result(
			frappe.db, log, raw_body, endpoint=endpoint, now=now, settings=settings
		),
		on_applied=_result_applied,
		on_failed=_result_failed,
	).status


def apply_result_log(
	log: str, raw_body: bytes | str, *, endpoint: str, settings: LedgerSettings, now: datetime
) -> str:
	"""Apply one stored result/timeout body again in its own unit of work and commit; the log status."""
	return apply_logged(
		frappe.db,
		log,
		lambda: payouts.process_logged_result(
			frappe.db, log, raw_body, endpoint=endpoint, now=now, settings=settings
		),
		now=now,
		on_applied=_result_applied,
		on_failed=_result_failed,
	).status


def _result_applied(log: str, outcome: payouts.PayoutOutcome) -> None:
	if outcome.status == payouts.CONFLICT:
		frappe.log_error(
			title=B2C_CONFLICT_TITLE,
			message=f"Payout {outcome.payout} (callback log {log}): {outcome.reason}. Check the M-Pesa statement.",
			reference_doctype=LOG_DOCTYPE,
			reference_name=log,
		)


def _result_failed(log: str, exc: Exception) -> None:
	log_callback_error(log, exc, title=B2C_FAILED_TITLE)


def log_callback_error(log: str, exc: BaseException, *, title: str) -> None:
	"""An Error Log (fixed ``title``) for a callback that failed, with the traceback being handled."""
	frappe.log_error(
		title=title,
		message=f"Callback log {log}: {type(exc).__name__}: {exc}\n\n{frappe.get_traceback()}",
		reference_doctype=LOG_DOCTYPE,
		reference_name=log,
	)
