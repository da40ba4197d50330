"""The books against M-Pesa's statement from the desk (DESIGN §9): import, match, recover.

Thin: parse the request, check the role, call :mod:`tuktuk_management.ledger.mpesa_statement`,
shape the reply. Statement imports are created in the desk (TukTuk Statement Import, a CSV
attachment; its controller stores and matches the lines); the Statement Reconciliation report
calls :func:`match_statement` and :func:`recover_lines`.
"""

from __future__ import annotations

import json

import frappe
from frappe import _
from frappe.utils import now_datetime

from tuktuk_management import roles
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.mpesa_statement import match, parse, store
from tuktuk_management.ledger.mpesa_statement import recover as recovery
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.tasks import enqueue_payout_job

LINES_PER_REQUEST_MAX = recovery.RECOVERY_BATCH_MAX
ERROR_TITLE = "TukTuk statement recovery failed"


def import_file_content(statement_import: str, content: bytes | str, *, file_name: str) -> dict:
	"""Store a statement export's lines under ``statement_import`` and match its period, in the
	caller's transaction (the controller's insert). Throws the parser's errors, naming the
	column or the lines, so nothing is stored from a malformed file."""
	try:
		lines = parse.parse_statement(content)
	except parse.StatementFormatError as exc:
		frappe.throw(
			"<br>".join(frappe.utils.escape_html(error) for error in exc.errors),
			title=_("The statement file cannot be read"),
		)
	if not lines:
		frappe.throw(_("The statement file has no lines."), title=_("Empty Statement"))
	now = now_datetime()
	result = store.store_lines(frappe.db, statement_import, lines, now=now, user=frappe.session.user)
	frappe.db.set_value(
		store.IMPORT_DOCTYPE, statement_import, "file_name", file_name[:140], update_modified=False
	)
	match.run_match(
		frappe.db,
		now=now,
		user=frappe.session.user,
		statement_import=statement_import,
		payout_window=match.payout_window(frappe.db),
	)
	return result.as_dict()


@frappe.whitelist(methods=["POST"])
def match_statement(statement_import: str | None = None) -> dict:
	"""Match one import's period (or every stored line) to the books and post its fees once.

	Returns the summary: ``outcomes`` (count and ``amount_kes`` per outcome), ``not_in_statement``,
	``recoverable``, ``payouts_to_settle``, ``differences`` and ``all_matched``."""
	frappe.only_for(roles.STATEMENT_RECONCILERS)
	if statement_import and not frappe.db.exists(store.IMPORT_DOCTYPE, statement_import):
		frappe.throw(_("Statement import {0} does not exist.").format(frappe.bold(statement_import)))
	result = run_with_retry(
		lambda: match.run_match(
			frappe.db,
			now=now_datetime(),
			user=frappe.session.user,
			statement_import=statement_import or None,
			payout_window=match.payout_window(frappe.db),
		),
		rollback=frappe.db.rollback,
	)
	return result.summary()


@frappe.whitelist(methods=["POST"])
def recover_lines(lines: str | list | None = None) -> dict:
	"""Apply the proposed recoveries once: missed paybill payments through the C2B confirmation
	path, payouts the statement proves paid through the payout lifecycle.

	lines: TukTuk Statement Line names (a list or its JSON), at most LINES_PER_REQUEST_MAX; None
	for every proposed recovery. Returns ``applied`` (count), ``applied_kes`` and ``recoveries``
	(one per line: its status, the transaction or payout, whether this call applied it)."""
	frappe.only_for(roles.STATEMENT_RECONCILERS)
	names = _names(lines)
	settings = load_settings(frappe.db)
	done = recovery.recover_all(
		frappe.db,
		settings=settings,
		clock=now_datetime,
		commit=_commit,
		rollback=frappe.db.rollback,
		user=frappe.session.user,
		names=names,
	)
	for done_line in done:
		if done_line.queued_payout:
			enqueue_payout_job(done_line.queued_payout)  # sent by a job after the commit below
	applied = [r for r in done if r.applied]
	return {
		"applied": len(applied),
		"applied_kes": sum(r.amount_kes for r in applied),
		"recoveries": [r.as_dict() for r in done],
	}


def _commit() -> None:
	# Unit-of-work boundary of a recovery step: the claim with its stored callback body, then the
	# payment with its log mark (the core's three steps, see ledger/mpesa_statement/recover.py).
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- a recovery step is its own unit of work


def _names(lines: str | list | None) -> list[str] | None:
	if lines in (None, "", "null"):
		return None
	names = json.loads(lines) if isinstance(lines, str) else lines
	if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
		frappe.throw(_("lines must be a list of statement line names."))
	if len(names) > LINES_PER_REQUEST_MAX:
		frappe.throw(_("At most {0} lines at a time.").format(LINES_PER_REQUEST_MAX))
	return names


def nightly_figures() -> dict | None:
	"""The external figures for the nightly reconciliation email: the latest import re-matched
	(committed; fees posted once), or None without any import."""
	latest = frappe.get_all(
		store.IMPORT_DOCTYPE,
		filters={"period_end": ["is", "set"]},
		fields=["name"],
		order_by="period_end desc",
		limit=1,
	)
	if not latest:
		return None
	statement_import = latest[0].name
	result = run_with_retry(
		lambda: match.run_match(
			frappe.db,
			now=now_datetime(),
			user="Administrator",
			statement_import=statement_import,
			payout_window=match.payout_window(frappe.db),
		),
		rollback=frappe.db.rollback,
	)
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- unit of work: the match and its fee postings
	summary = result.summary()
	return {
		"statement_import": statement_import,
		"period_start": summary["period_start"],
		"period_end": summary["period_end"],
		"differences": summary["differences"],
		"not_in_books": summary["outcomes"][match.NOT_IN_BOOKS],
		"not_in_statement": {k: summary["not_in_statement"][k] for k in ("count", "amount_kes")},
		"differs": summary["outcomes"][match.DIFFERS],
		"payouts_to_settle": summary["payouts_to_settle"],
		"paid_twice": summary["outcomes"][match.PAID_TWICE],
		"recoverable": summary["recoverable"],
	}
