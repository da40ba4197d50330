"""Manual journal API for accountants: validate, post, get, revert.

    POST /api/method/tuktuk_management.api.journal.validate_journal   (dry run)
    POST /api/method/tuktuk_management.api.journal.post_journal
    GET  /api/method/tuktuk_management.api.journal.get_journal?journal=<name or idempotency key>
    POST /api/method/tuktuk_management.api.journal.revert_journal

Body of validate/post: ``{"idempotency_key": "...", "remarks": "...", "lines": [{"account":
"deposit", "driver": "D000001", "debit": 500, "allow_overdraft": false}, ...]}`` (amounts in
whole KES). Roles: TukTuk Accountant, TukTuk Manager, System Manager (``roles.JOURNAL_POSTERS``);
anyone else gets 403. A POST is one transaction: Frappe commits when the method returns and
rolls back on any error, so a journal is posted whole or not at all.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import now_datetime

from tuktuk_management import roles
from tuktuk_management.ledger import journal as journals
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.postings import CorrectionRefused, NotFound
from tuktuk_management.ledger.settings import load_settings


@frappe.whitelist(methods=["POST"])
def validate_journal(idempotency_key: str, lines: list | str, remarks: str | None = None) -> dict:
	"""Dry run: is the journal well formed, balanced, within the limits, and would every driver
	balance stay at or above zero? Nothing is written.

	Returns ``{"valid": bool, "errors": [str], "lines": int, "total_kes": int, "balances_after":
	{driver: {"target", "deposit", "payable"}}, "already_posted_as": journal name or None}``.
	"""
	frappe.only_for(roles.JOURNAL_POSTERS)
	try:
		body = journals.parse_journal(idempotency_key, lines, remarks, settings=load_settings(frappe.db))
	except journals.InvalidJournal as exc:
		return {"valid": False, "errors": [str(exc)], "lines": 0, "total_kes": 0, "balances_after": {}}
	return journals.validate_journal(frappe.db, body)


@frappe.whitelist(methods=["POST"])
def post_journal(idempotency_key: str, lines: list | str, remarks: str | None = None) -> dict:
	"""Post a balanced journal atomically, once per idempotency key.

	Returns ``{"journal", "idempotency_key", "status": "Posted", "total_kes", "lines",
	"posted_at", "reverted_at", "replayed"}``; ``replayed`` is true when the same key and body
	were posted before (the first result is returned, nothing is posted again). Errors: 417 for
	an invalid journal or a balance that would go below zero, 409 for the same key with a
	different body, 403 for a user without an accountant or manager role.
	"""
	frappe.only_for(roles.JOURNAL_POSTERS)
	settings = load_settings(frappe.db)
	body = _parsed(idempotency_key, lines, remarks, settings)
	now, user = now_datetime(), frappe.session.user
	result = _call(
		lambda: run_with_retry(
			lambda: journals.post_journal(frappe.db, body, settings=settings, now=now, user=user),
			rollback=frappe.db.rollback,
		)
	)
	return result.as_dict()


@frappe.whitelist(methods=["GET", "POST"])
def get_journal(journal: str) -> dict:
	"""A journal by name or idempotency key: status, totals, who/when, and its lines."""
	frappe.only_for(roles.JOURNAL_POSTERS)
	return _call(lambda: journals.get_journal(frappe.db, journal))


@frappe.whitelist(methods=["POST"])
def revert_journal(journal: str) -> dict:
	"""Append the reversal of a posted journal, dated now; a journal is reverted once.

	Returns the journal's result with ``status`` Reverted. Errors: 404 unknown journal, 409
	already reverted, 417 if the reversal would take a balance below zero.
	"""
	frappe.only_for(roles.JOURNAL_POSTERS)
	settings = load_settings(frappe.db)
	now, user = now_datetime(), frappe.session.user
	result = _call(
		lambda: run_with_retry(
			lambda: journals.revert_journal(frappe.db, journal, settings=settings, now=now, user=user),
			rollback=frappe.db.rollback,
		)
	)
	return result.as_dict()


def _parsed(idempotency_key, lines, remarks, settings) -> journals.JournalBody:
	try:
		return journals.parse_journal(idempotency_key, lines, remarks, settings=settings)
	except journals.InvalidJournal as exc:
		frappe.throw(str(exc), title=_("Invalid journal"))


def _call(function):
	"""Run a core call; turn its refusals into ``frappe.throw`` with the right HTTP status."""
	try:
		return function()
	except NotFound as exc:
		frappe.throw(str(exc), exc=frappe.DoesNotExistError, title=_("Not found"))
	except (journals.IdempotencyConflict, journals.AlreadyReverted) as exc:
		frappe.throw(str(exc), exc=frappe.DuplicateEntryError, title=_("Conflict"))
	except CorrectionRefused as exc:
		frappe.throw(str(exc), title=_("Journal refused"))
