"""Planning a payment reversal, and keeping the payment's reversed total and status in step.

A payment reversal takes back, in this order, what is left of the payment's target
contribution (from the target account while the day is open, the rest from revenue once it
has been closed), then its payable share if that is not paid out yet (the unpaid payout is
cancelled and re-queued for any remainder), then a repayment's deposit part. The money goes
back to the customer through the paybill (an M-Pesa reversal). Lock order: driver, then the
transaction, then its unpaid payouts.
"""

from __future__ import annotations

from datetime import datetime

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.corrections.note import (
	CREDIT_NOTE_DOCTYPE,
	PAYMENT_REVERSAL,
	PAYOUT_DOCTYPE,
	REVERSIBLE_PAYMENT_STATUSES,
	UNPAID_PAYOUT_STATUSES,
	CreditNote,
	Plan,
)
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import LockedDrivers
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.postings import CorrectionRefused, NotFound, refuse_negative_balances
from tuktuk_management.ledger.status import PaymentStatus
from tuktuk_management.ledger.writer import PostingLine


def plan_payment_reversal(db: Database, note: CreditNote, locked: LockedDrivers) -> Plan:
	driver, amount_kes = note.driver, note.amount_kes
	row = locked[driver]
	payment = lock_transaction(db, note.transaction)
	if payment["payment_status"] not in REVERSIBLE_PAYMENT_STATUSES:
		raise CorrectionRefused(
			f"Transaction {note.transaction} is {payment['payment_status']}; only a completed or allocated "
			"payment can be reversed."
		)
	if payment["driver"] != driver:
		raise CorrectionRefused(
			f"Transaction {note.transaction} was paid to driver {payment['driver']}, not {driver}."
		)
	done = db.sql(
		f"""select coalesce(sum(-target_kes + revenue_kes), 0), coalesce(sum(-payable_kes), 0),
			coalesce(sum(-deposit_kes), 0)
		from `tab{CREDIT_NOTE_DOCTYPE}`
		where transaction = %s and correction_type = %s and docstatus = 1 and name <> %s""",
		(note.transaction, PAYMENT_REVERSAL, note.name),
	)[0]
	left_target_kes = to_kes(payment["target_contribution"]) - to_kes(done[0])
	left_payable_kes = to_kes(payment["driver_share"]) - to_kes(done[1])
	left_deposit_kes = to_kes(payment["deposit_contribution"]) - to_kes(done[2])
	left_kes = left_target_kes + left_payable_kes + left_deposit_kes
	assert min(left_target_kes, left_payable_kes, left_deposit_kes) >= 0, (note.transaction, done)
	if amount_kes > left_kes:
		raise CorrectionRefused(
			f"Only {left_kes} KES is left of payment {note.transaction} ({to_kes(payment['amount'])} KES); "
			f"{amount_kes} KES cannot be reversed."
		)
	unpaid = db.sql(
		f"""select name, amount from `tab{PAYOUT_DOCTYPE}`
		where transaction = %s and status in %s order by name for update""",
		(note.transaction, UNPAID_PAYOUT_STATUSES),
	)
	unpaid_kes = sum(to_kes(amount) for _, amount in unpaid)
	take_target_kes = min(amount_kes, left_target_kes)
	take_payable_kes = min(amount_kes - take_target_kes, left_payable_kes, unpaid_kes, row.payout_pending_kes)
	take_deposit_kes = amount_kes - take_target_kes - take_payable_kes
	if take_deposit_kes > left_deposit_kes or take_deposit_kes > row.current_deposit_balance_kes:
		paid_kes = left_payable_kes - take_payable_kes
		raise CorrectionRefused(
			f"At most {take_target_kes + take_payable_kes + min(left_deposit_kes, row.current_deposit_balance_kes)}"
			f" KES of payment {note.transaction} can be reversed now: {paid_kes} KES of the driver's share "
			"has already been sent to M-Pesa (or the deposit it went to has been used)."
		)
	from_target_kes = min(take_target_kes, max(0, row.current_balance_kes))
	from_revenue_kes = take_target_kes - from_target_kes
	lines = [PostingLine(accounts.PAYBILL, credit_kes=amount_kes)]
	if from_target_kes:
		lines.append(PostingLine(accounts.TARGET, debit_kes=from_target_kes, party=driver))
	if from_revenue_kes:
		lines.append(PostingLine(accounts.REVENUE, debit_kes=from_revenue_kes))
	if take_payable_kes:
		lines.append(PostingLine(accounts.PAYABLE, debit_kes=take_payable_kes, party=driver))
	if take_deposit_kes:
		lines.append(PostingLine(accounts.DEPOSIT, debit_kes=take_deposit_kes, party=driver))
	refuse_negative_balances(lines, locked)
	plan = Plan(
		lines,
		target_kes=-from_target_kes,
		deposit_kes=-take_deposit_kes,
		payable_kes=-take_payable_kes,
		revenue_kes=from_revenue_kes,
		transaction_reversed_kes=amount_kes,
	)
	if take_payable_kes:
		plan.payouts_to_cancel = [name for name, _ in unpaid]
		plan.payout_kes = unpaid_kes - take_payable_kes  # re-queued remainder of the unpaid share
	return plan


def lock_transaction(db: Database, transaction: str | None) -> dict:
	rows = db.sql(
		"""select name, driver, amount, target_contribution, driver_share, deposit_contribution,
			payment_status, allocated_at, reversed_kes, pre_ledger
		from `tabTukTuk Transaction` where name = %s for update""",
		(transaction,),
		as_dict=True,
	)
	if not rows:
		raise NotFound(f"Transaction {transaction} does not exist.")
	if rows[0]["pre_ledger"]:
		raise CorrectionRefused(
			f"Transaction {transaction} was recorded by the app this one replaced and has no postings "
			"(its money is in the driver's opening balance); correct the balance with a manual journal."
		)
	return rows[0]


def update_transaction(
	db: Database, transaction: str | None, reversed_delta_kes: int, *, now: datetime, user: str
) -> None:
	"""Move a payment's reversed total by ``reversed_delta_kes`` and set its payment status."""
	payment = lock_transaction(db, transaction)
	reversed_kes = to_kes(payment["reversed_kes"]) + reversed_delta_kes
	amount_kes = to_kes(payment["amount"])
	assert 0 <= reversed_kes <= amount_kes, (transaction, reversed_kes, amount_kes)
	if reversed_kes == 0:
		status = PaymentStatus.ALLOCATED if payment["allocated_at"] else PaymentStatus.COMPLETED
	elif reversed_kes == amount_kes:
		status = PaymentStatus.REVERSED
	else:
		status = PaymentStatus.PARTLY_REVERSED
	db.sql(
		"""update `tabTukTuk Transaction` set reversed_kes = %s, payment_status = %s, modified = %s,
		modified_by = %s where name = %s""",
		(reversed_kes, status, now, user, transaction),
	)
