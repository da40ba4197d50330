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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import frappe
from frappe.utils import now_datetime

from tuktuk_management.daraja import models
from tuktuk_management.ledger import c2b, doctypes, payouts
from tuktuk_management.ledger.callback_log import (
	C2B_CONFIRMATION,
	Logged,
	apply_logged,
	process_logged_confirmation,
	receive_logged,
)
from tuktuk_management.ledger.settings import LedgerSettings, load_settings
from tuktuk_management.ledger.status import LogStatus
from tuktuk_management.tasks import enqueue_message_job, enqueue_payout_job

LOG_DOCTYPE = doctypes.CALLBACK_LOG
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
	raw_body: bytes | str,
	*,
	source_ip: str,
	settings: LedgerSettings | None = None,
	commit: bool = True,
	legacy_url: str | None = None,
	remote_addr: str = "",
	forwarded_for: str = "",
) -> ConfirmationResult:
	"""Store a confirmation body (committed), apply it and mark its log; the webhook after its checks.

	Commits the stored body, and the payment too unless ``commit`` is False: the webhook passes
	False, since Frappe commits every POST request at its end (``frappe.app.after_request``) and a
	commit here would be one more COMMIT + START TRANSACTION per callback. If the request fails
	after this, Frappe rolls the payment back and the stored body stays Received for the job.
	"""
	settings = settings or load_settings(frappe.db)
	logged = _receive(
		C2B_CONFIRMATION,
		raw_body,
		source_ip,
		lambda log, now: apply_confirmation_log(log, raw_body, settings=settings, now=now, commit=commit),
		legacy_url,
		remote_addr=remote_addr,
		forwarded_for=forwarded_for,
	)
	return ConfirmationResult(logged.log, logged.status, _transaction(logged), models.confirmation_ack())


def apply_confirmation_log(
	log: str, raw_body: bytes | str, *, settings: LedgerSettings, now: datetime, commit: bool = True
) -> Logged[c2b.C2BOutcome]:
	"""Apply one stored confirmation in its own unit of work and commit (see ``receive_confirmation``
	for ``commit``): the webhook right after storing it, the scheduled job for one left behind.

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
		commit=commit,
	)


def _receive(
	endpoint: str,
	stored_body: bytes | str,
	source_ip: str,
	apply: Callable[[str, datetime], Logged],
	legacy_url: str | None = None,
	*,
	remote_addr: str = "",
	forwarded_for: str = "",
) -> Logged:
	"""``receive_logged`` on ``frappe.db``, received now; ``apply(log, now)`` applies the body;
	``legacy_url``: the original app's URL the call arrived at (recorded on the log).
	source_ip: the caller's address as checked (api/callbacks.py); remote_addr, forwarded_for:
	the connection's address and the raw X-Forwarded-For header, kept on the log."""
	now = now_datetime()
	return receive_logged(
		frappe.db,
		endpoint=endpoint,
		raw_body=stored_body,
		received_at=now,
		source_ip=source_ip,
		apply=lambda log: apply(log, now),
		legacy_url=legacy_url,
		remote_addr=remote_addr,
		forwarded_for=forwarded_for,
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
	if outcome.message:
		# The receipt queued with the payment: sent by the message job after this commits (at most
		# one enqueue a second per process; the job lingers to pick up the rest).
		enqueue_message_job(throttle=True)
	if outcome.status == LogStatus.CONFLICT:
		_log_error(
			log, C2B_CONFLICT_TITLE, f"TransID {outcome.trans_id} (callback log {log}): {outcome.reason}"
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
	legacy_url: str | None = None,
	remote_addr: str = "",
	forwarded_for: str = "",
) -> Logged[payouts.PayoutOutcome]:
	"""Store a B2C result/timeout body (``stored_body``, committed), apply ``raw_body`` under the
	payout row lock, mark its log and commit."""
	return _receive(
		endpoint,
		stored_body,
		source_ip,
		lambda log, now: apply_result_log(log, raw_body, endpoint=endpoint, settings=settings, now=now),
		legacy_url,
		remote_addr=remote_addr,
		forwarded_for=forwarded_for,
	)


def apply_result_log(
	log: str, raw_body: bytes | str, *, endpoint: str, settings: LedgerSettings, now: datetime
) -> Logged[payouts.PayoutOutcome]:
	"""Apply one stored result/timeout body in its own unit of work and commit; the log status (the
	webhook right after storing it, the scheduled job for one left behind)."""
	return apply_logged(
		frappe.db,
		log,
		lambda: payouts.process_logged_result(
			frappe.db, log, raw_body, endpoint=endpoint, now=now, settings=settings
		),
		now=now,
		on_applied=_result_applied,
		on_failed=_result_failed,
	)


def _result_applied(log: str, outcome: payouts.PayoutOutcome) -> None:
	if outcome.changed and outcome.payout:
		_queue_payout_message(outcome.payout)
	if outcome.status == LogStatus.CONFLICT:
		message = (
			f"Payout {outcome.payout} (callback log {log}): {outcome.reason}. Check the M-Pesa statement."
		)
		_log_error(log, B2C_CONFLICT_TITLE, message)


def _result_failed(log: str, exc: Exception) -> None:
	log_callback_error(log, exc, title=B2C_FAILED_TITLE)


def log_callback_error(log: str, exc: BaseException, *, title: str) -> None:
	"""An Error Log (fixed ``title``) for a callback that failed, with the traceback being handled."""
	_log_error(log, title, f"Callback log {log}: {type(exc).__name__}: {exc}\n\n{frappe.get_traceback()}")


def _log_error(log: str, title: str, message: str) -> None:
	frappe.log_error(title=title, message=message, reference_doctype=LOG_DOCTYPE, reference_name=log)


def _queue_payout_message(payout: str) -> None:
	"""Before the result commits: "payout sent" or "payout failed" for the driver (once per payout
	and kind, idempotency key), when TukTuk Settings has payout messages on."""
	from tuktuk_management.ledger import messages

	settings = messages.load_message_settings(frappe.db)
	if messages.queue_payout_outcome(
		frappe.db, payout, messages=settings, now=now_datetime(), user="Administrator"
	):
		enqueue_message_job()
