"""Paying out what a driver is owed (issue 13): withdrawal requests, their approval, "Pay now".

Whitelisted, POST only; each call is one unit of work (Frappe commits it at the end of the
request) with bounded deadlock retry, and the payout it queues is sent after that commit by the
payout job (:func:`tuktuk_management.tasks.enqueue_payout_job`, ``manual=True``: an explicit
request is sent even while instant payouts are off). The rules live in
:mod:`tuktuk_management.ledger.owed`.

- ``request_withdrawal(amount_kes)``: a driver (TukTuk Driver role, linked user) asks for part of
  their own payable; limits from TukTuk Settings; approved at once up to the auto-approve amount.
- ``approve_withdrawal(name)`` / ``reject_withdrawal(name, reason)``: managers.
- ``pay_now(driver, amount_kes=None)``: managers pay a driver all that is available, or part.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import now_datetime

from tuktuk_management import roles
from tuktuk_management.ledger import owed
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.money import NotWholeShillings, to_kes
from tuktuk_management.ledger.postings import CorrectionRefused, NotFound
from tuktuk_management.permissions import driver_of
from tuktuk_management.tasks import enqueue_payout_job


@frappe.whitelist(methods=["POST"])
def request_withdrawal(amount_kes: int | float | str) -> dict:
	"""The signed-in driver asks to withdraw ``amount_kes`` (whole KES) of their own payable.

	Returns ``{"name", "status", "amount_kes", "payout"}``: status Approved (payout queued, sent
	after commit) when the amount is at most ``withdrawal_auto_approve_max_kes``, else Requested
	(a manager decides). Errors: 403 for a user without the TukTuk Driver role, 404 when no driver
	is linked to the user, 417 for a refused request (minimum, maximum per day, cooldown, more
	than is available) with the reason.
	"""
	frappe.only_for(roles.WITHDRAWAL_REQUESTERS)
	driver = driver_of(frappe.session.user)
	if not driver:
		frappe.throw(_("Your user is not linked to a driver."), frappe.DoesNotExistError)
	amount = _amount(amount_kes)
	settings = owed.load_money_settings(frappe.db)
	now, user = now_datetime(), frappe.session.user
	outcome = _call(
		lambda: owed.request_withdrawal(
			frappe.db, driver=driver, amount_kes=amount, settings=settings, now=now, user=user
		)
	)
	return _reply(outcome)


@frappe.whitelist(methods=["POST"])
def approve_withdrawal(name: str) -> dict:
	"""A manager approves a waiting request: its one payout is queued (sent after commit).

	Approving an Approved request returns its payout and queues nothing. Returns ``{"name",
	"status", "amount_kes", "payout"}``. Errors: 403 for anyone but a manager, 404 unknown
	request, 417 for a Rejected request or an amount no longer available.
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	now, user = now_datetime(), frappe.session.user
	return _reply(_call(lambda: owed.approve_withdrawal(frappe.db, name, now=now, user=user)))


@frappe.whitelist(methods=["POST"])
def reject_withdrawal(name: str, reason: str) -> dict:
	"""A manager rejects a waiting request with ``reason``; its amount is free again.

	Returns ``{"name", "status": "Rejected", ...}``. Errors: 403, 404, 417 (no reason, or the
	request is Approved: cancel its payout instead).
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	now, user = now_datetime(), frappe.session.user
	return _reply(_call(lambda: owed.reject_withdrawal(frappe.db, name, reason=reason, now=now, user=user)))


@frappe.whitelist(methods=["POST"])
def pay_now(driver: str, amount_kes: int | float | str | None = None) -> dict:
	"""A manager pays ``driver`` now: everything available (``amount_kes`` empty) or part of it,
	as one payout (an Approved request of source Pay Now). A second click finds the money on its
	way and is refused (417) instead of paying it twice.

	Returns ``{"name", "status", "amount_kes", "payout"}``. Errors: 403 for anyone but a
	manager, 404 unknown driver, 417 when nothing or less than asked is available.
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	amount = None if amount_kes in (None, "", 0, "0") else _amount(amount_kes)
	now, user = now_datetime(), frappe.session.user
	return _reply(
		_call(lambda: owed.pay_now(frappe.db, driver=driver, amount_kes=amount, now=now, user=user))
	)


@frappe.whitelist(methods=["GET", "POST"])
def payable_summary(driver: str) -> dict:
	"""What the driver form's Pay now dialog shows: ``payable_kes``, ``available_kes`` (what may
	be paid now) and ``waiting_requests`` (requests a manager has not decided). Managers only."""
	frappe.only_for(roles.MONEY_MOVERS)
	from tuktuk_management.ledger.drivers import lock_drivers

	locked = lock_drivers(frappe.db, [driver])
	if driver not in locked:
		frappe.throw(_("Driver {0} not found.").format(driver), frappe.DoesNotExistError)
	return {
		"payable_kes": locked[driver].payout_pending_kes,
		"available_kes": owed.available_kes(frappe.db, locked, driver),
		"waiting_requests": frappe.db.count(
			"TukTuk Withdrawal Request", {"driver": driver, "status": owed.WithdrawalStatus.REQUESTED}
		),
	}


def _amount(value) -> int:
	try:
		amount = to_kes(value)
	except NotWholeShillings:
		frappe.throw(_("The amount must be whole shillings (M-Pesa moves no cents)."))
	if amount <= 0:
		frappe.throw(_("The amount must be more than 0 KES."))
	return amount


def _call(function) -> owed.RequestOutcome:
	"""Run a core call with bounded deadlock retry (the call is the request's only write); turn
	its refusals into ``frappe.throw`` (404 for a missing document, 417 otherwise)."""
	try:
		return run_with_retry(function, rollback=frappe.db.rollback)
	except NotFound as exc:
		frappe.throw(str(exc), exc=frappe.DoesNotExistError, title=_("Not found"))
	except CorrectionRefused as exc:
		frappe.throw(str(exc), title=_("Payout refused"))


def _reply(outcome: owed.RequestOutcome) -> dict:
	"""Send a newly queued payout after commit; the reply."""
	if outcome.payout and not outcome.replayed:
		enqueue_payout_job(outcome.payout, manual=True)
	return outcome.as_dict()
