"""Days off (DESIGN §8): drivers request their own, managers approve or reject.

Whitelisted, POST:

- ``request_day_off(day_off_date, reason)``: the logged-in driver asks for a day off (the driver
  is the one linked to the session user; there is no driver argument, so nobody can ask for
  someone else). Refused for a past date, a date already closed, or a date with an open request.
  Returns ``{"name", "status"}`` (status Requested). Called by the driver portal.
- ``cancel_day_off_request(name)``: the driver withdraws their own Requested day off →
  Cancelled. Returns ``{"name", "status"}``.
- ``approve_day_off(name)`` / ``reject_day_off(name, reason)`` (TukTuk Manager, System
  Manager): Requested → Approved / Rejected, recording who and when. A second click changes
  nothing and returns the current status. ``approve_days_off(names)`` /
  ``reject_days_off(names, reason)`` do the same for a list (the list view's actions).

Managers enter a day off for any driver with the TukTuk Day Off form (the same checks), then
approve it. Only an Approved day off leaves the driver unjudged by the daily close.
"""

from __future__ import annotations

import json

import frappe
from frappe import _
from frappe.utils import getdate, now_datetime

from tuktuk_management import roles
from tuktuk_management.ledger import doctypes
from tuktuk_management.ledger.days_off import REASON_LEN_MAX, DayOffError, DayOffStatus, check_not_closed
from tuktuk_management.permissions import driver_of

DAY_OFF_DOCTYPE = doctypes.DAY_OFF
NAMES_MAX = 200  # days off per bulk decision


@frappe.whitelist(methods=["POST"])
def request_day_off(day_off_date: str, reason: str | None = None) -> dict:
	"""Request a day off on ``day_off_date`` (YYYY-MM-DD) for the session user's own driver.

	Returns ``{"name", "status"}``. Throws for a user without the TukTuk Driver role or a linked
	driver, a bad or past date, a closed date, or an open request for the same date.
	"""
	frappe.only_for(roles.DAY_OFF_REQUESTERS)
	driver = driver_of()
	if not driver:
		frappe.throw(_("Your user is not linked to a driver; ask a manager to link it."))
	try:
		day = getdate(day_off_date)
	except Exception:
		frappe.throw(_("{0} is not a date (use YYYY-MM-DD).").format(day_off_date))
	doc = frappe.get_doc(
		{
			"doctype": DAY_OFF_DOCTYPE,
			"driver": driver,
			"day_off_date": day,
			"reason": (reason or "").strip()[:REASON_LEN_MAX],
			"status": DayOffStatus.REQUESTED,
		}
	)
	doc.insert(ignore_permissions=True)  # the driver has read-only DocPerm; checked above
	return {"name": doc.name, "status": doc.status}


@frappe.whitelist(methods=["POST"])
def cancel_day_off_request(name: str) -> dict:
	"""The session user's driver withdraws their own Requested day off ``name`` → Cancelled.

	Returns ``{"name", "status"}``. Throws PermissionError for someone else's day off, and a
	message for one already decided.
	"""
	frappe.only_for(roles.DAY_OFF_REQUESTERS)
	doc = _locked(name)
	driver = driver_of()
	if not driver or doc.driver != driver:
		frappe.throw(_("You can only cancel your own day off requests."), frappe.PermissionError)
	if doc.status == DayOffStatus.CANCELLED:
		return {"name": doc.name, "status": doc.status}
	if doc.status != DayOffStatus.REQUESTED:
		frappe.throw(_("This day off is already {0}; ask a manager to change it.").format(_(doc.status)))
	_decide(doc, DayOffStatus.CANCELLED)
	return {"name": doc.name, "status": doc.status}


@frappe.whitelist(methods=["POST"])
def approve_day_off(name: str) -> dict:
	"""Approve the Requested day off ``name`` (managers). Returns ``{"name", "status"}``.

	An Approved one is returned unchanged; a Rejected or Cancelled one, or one whose date the
	daily close has already covered, is refused."""
	frappe.only_for(roles.DAY_OFF_APPROVERS)
	doc = _locked(name)
	if doc.status == DayOffStatus.APPROVED:
		return {"name": doc.name, "status": doc.status}
	if doc.status != DayOffStatus.REQUESTED:
		frappe.throw(
			_("This day off is {0}; only a Requested day off can be approved.").format(_(doc.status))
		)
	try:
		check_not_closed(frappe.db, doc.driver, getdate(doc.day_off_date))
	except DayOffError as exc:
		frappe.throw(_(str(exc)))
	_decide(doc, DayOffStatus.APPROVED)
	return {"name": doc.name, "status": doc.status}


@frappe.whitelist(methods=["POST"])
def reject_day_off(name: str, reason: str) -> dict:
	"""Reject the Requested day off ``name`` with a ``reason`` (managers; required). Returns
	``{"name", "status"}``; a Rejected one is returned unchanged. An Approved day off whose date
	is not closed yet can be rejected too (the manager changed their mind)."""
	frappe.only_for(roles.DAY_OFF_APPROVERS)
	reason = (reason or "").strip()[:REASON_LEN_MAX]
	if not reason:
		frappe.throw(_("Give a reason for the rejection; the driver sees it."))
	doc = _locked(name)
	if doc.status == DayOffStatus.REJECTED:
		return {"name": doc.name, "status": doc.status}
	if doc.status not in DayOffStatus.OPEN:
		frappe.throw(_("This day off is {0}; there is nothing to reject.").format(_(doc.status)))
	if doc.status == DayOffStatus.APPROVED:
		try:
			check_not_closed(frappe.db, doc.driver, getdate(doc.day_off_date))
		except DayOffError as exc:
			frappe.throw(_(str(exc)))
	doc.rejection_reason = reason
	_decide(doc, DayOffStatus.REJECTED)
	return {"name": doc.name, "status": doc.status}


@frappe.whitelist(methods=["POST"])
def approve_days_off(names: str | list) -> dict:
	"""Approve several Requested days off (managers). Returns ``{"approved": n}``."""
	frappe.only_for(roles.DAY_OFF_APPROVERS)
	return {
		"approved": sum(approve_day_off(name)["status"] == DayOffStatus.APPROVED for name in _names(names))
	}


@frappe.whitelist(methods=["POST"])
def reject_days_off(names: str | list, reason: str) -> dict:
	"""Reject several days off with one reason (managers). Returns ``{"rejected": n}``."""
	frappe.only_for(roles.DAY_OFF_APPROVERS)
	return {
		"rejected": sum(
			reject_day_off(name, reason)["status"] == DayOffStatus.REJECTED for name in _names(names)
		)
	}


def _locked(name: str):
	if not frappe.db.exists(DAY_OFF_DOCTYPE, name):
		frappe.throw(_("Day off {0} does not exist.").format(name), frappe.DoesNotExistError)
	return frappe.get_doc(DAY_OFF_DOCTYPE, name, for_update=True)


def _decide(doc, status: str) -> None:
	doc.status = status
	doc.approved_by = frappe.session.user
	doc.approved_on = now_datetime()
	doc.flags.day_off_decision = True
	doc.save(ignore_permissions=True)  # roles checked by the caller


def _names(names: str | list) -> list[str]:
	if isinstance(names, str):
		names = json.loads(names) if names.strip().startswith("[") else [names]
	names = [str(name) for name in names if name]
	if len(names) > NAMES_MAX:
		frappe.throw(_("At most {0} days off at once.").format(NAMES_MAX))
	return names
