"""Allocation of unallocated payments and entry of missed payments, for managers.

    POST /api/method/tuktuk_management.api.corrections.allocate_payment
         {"transaction": "<TransID>", "driver": "D000123"}   or   {"transaction": ..., "vehicle": "TT-7"}
    POST /api/method/tuktuk_management.api.corrections.record_missed_payment
         {"trans_id": "<TransID>", "amount": 250, "account": "<BillRefNumber>",
          "trans_time": "20261121121325", "driver": null, "vehicle": null}

Roles: TukTuk Manager and System Manager (``roles.MONEY_MOVERS``). Each call is one
transaction (Frappe commits when it returns, rolls back on error); the payouts it queues are
sent after commit.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import now_datetime

from tuktuk_management import roles
from tuktuk_management.ledger import allocation, c2b
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.money import NotWholeShillings, to_kes
from tuktuk_management.ledger.postings import CorrectionRefused, NotFound
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus


@frappe.whitelist(methods=["POST"])
def allocate_payment(transaction: str, driver: str | None = None, vehicle: str | None = None) -> dict:
	"""Allocate an Unallocated payment (in suspense) to a driver, or to a vehicle's current driver.

	The payment is re-posted from suspense exactly as if it had been routed there: split, payout
	queued, transaction marked Allocated. Returns ``{"transaction", "driver", "transaction_type",
	"amount_kes", "target_contribution_kes", "driver_share_kes", "deposit_contribution_kes",
	"payout"}``. Errors: 409 if it was already allocated (nothing changes), 404 for an unknown
	transaction, driver or vehicle, 417 for an inactive driver or a vehicle without one.
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	return allocate(transaction, driver=driver, vehicle=vehicle)


@frappe.whitelist(methods=["POST"])
def record_missed_payment(
	trans_id: str,
	amount: int | str,
	account: str,
	trans_time: str,
	driver: str | None = None,
	vehicle: str | None = None,
) -> dict:
	"""Record a payment M-Pesa received whose confirmation callback never arrived.

	trans_id: the M-Pesa receipt (TransID); amount: whole KES; account: the BillRefNumber the
	customer typed; trans_time: ``YYYYMMDDHHmmss`` (EAT) from the M-Pesa statement. It is routed
	and split like the callback would have been; if it lands in suspense and ``driver`` or
	``vehicle`` is given, it is allocated there in the same transaction. Idempotent on TransID:
	the same payment again returns status Duplicate and changes nothing; the same TransID with
	another amount or account is refused (409). Returns ``{"status", "transaction", "driver",
	"payout", "reason", "allocation"}``.
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	return record_missed(trans_id, amount, account, trans_time, driver=driver, vehicle=vehicle)


def allocate(transaction: str, *, driver: str | None = None, vehicle: str | None = None) -> dict:
	"""The work of :func:`allocate_payment` without the role check (console alias). No commit."""
	settings = load_settings(frappe.db)
	now, user = now_datetime(), frappe.session.user
	result = _call(
		lambda: run_with_retry(
			lambda: allocation.allocate_payment(
				frappe.db,
				(transaction or "").strip().upper(),
				driver=(driver or "").strip() or None,
				vehicle=(vehicle or "").strip() or None,
				settings=settings,
				now=now,
				user=user,
			),
			rollback=frappe.db.rollback,
		)
	)
	return result.as_dict()


def record_missed(
	trans_id: str,
	amount: int | str,
	account: str,
	trans_time: str,
	*,
	driver: str | None = None,
	vehicle: str | None = None,
) -> dict:
	"""The work of :func:`record_missed_payment` without the role check (console alias). No commit."""
	try:
		amount_kes = to_kes(amount)
	except NotWholeShillings:
		frappe.throw(_("Amount must be a whole number of shillings."), title=_("Invalid amount"))
	settings = load_settings(frappe.db)
	now, user = now_datetime(), frappe.session.user

	def unit_of_work() -> dict:
		outcome = allocation.record_missed_payment(
			frappe.db,
			trans_id=trans_id,
			amount_kes=amount_kes,
			account=account,
			trans_time=trans_time,
			settings=settings,
			now=now,
			user=user,
		)
		reply = {
			"status": outcome.status,
			"transaction": outcome.transaction,
			"driver": outcome.driver,
			"payout": outcome.payout,
			"reason": outcome.reason,
			"allocation": None,
		}
		if outcome.status == LogStatus.UNALLOCATED and (driver or vehicle):
			reply["allocation"] = allocation.allocate_payment(
				frappe.db,
				outcome.transaction,
				driver=driver,
				vehicle=vehicle,
				settings=settings,
				now=now,
				user=user,
			).as_dict()
		return reply

	reply = _call(lambda: run_with_retry(unit_of_work, rollback=frappe.db.rollback))
	if reply["status"] == LogStatus.INVALID:
		frappe.throw(
			_("The payment cannot be recorded: {0}").format(reply["reason"]), title=_("Invalid payment")
		)
	if reply["status"] == LogStatus.CONFLICT:
		frappe.throw(reply["reason"], exc=frappe.DuplicateEntryError, title=_("Conflict"))
	return reply


def _call(function):
	try:
		return function()
	except NotFound as exc:
		frappe.throw(str(exc), exc=frappe.DoesNotExistError, title=_("Not found"))
	except allocation.AlreadyAllocated as exc:
		frappe.throw(str(exc), exc=frappe.DuplicateEntryError, title=_("Already allocated"))
	except CorrectionRefused as exc:
		frappe.throw(str(exc), title=_("Allocation refused"))
