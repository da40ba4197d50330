"""The status words of TukTuk Payout and TukTuk Transaction, defined once.

Each class holds the options of one Select field as plain ``str`` constants (so they go into
SQL parameters, JSON and ``==`` comparisons with stored values unchanged) plus the groups the
flows ask about. The words match the DocType JSON options exactly.
"""

from __future__ import annotations


class PayoutStatus:
	"""TukTuk Payout ``status`` (the B2C payout lifecycle; see ``ledger.payouts``)."""

	QUEUED = "Queued"
	SENT = "Sent"
	PAID = "Paid"
	FAILED = "Failed"
	UNKNOWN = "Unknown"
	CANCELLED = "Cancelled"
	ALL = (QUEUED, SENT, PAID, FAILED, UNKNOWN, CANCELLED)
	IN_FLIGHT = (SENT, UNKNOWN)  # with Daraja: may still be paid
	FINISHED = (PAID, CANCELLED)
	UNPAID = (QUEUED, FAILED)  # not handed to M-Pesa (or definitely failed): may be cancelled
	ATTENTION = (FAILED, UNKNOWN)  # the desk's "needs a look"
	WAITING = (QUEUED, SENT)  # the desk's "not paid yet, not failed"


class PaymentStatus:
	"""TukTuk Transaction ``payment_status`` (what became of a C2B payment)."""

	COMPLETED = "Completed"
	UNALLOCATED = "Unallocated"
	ALLOCATED = "Allocated"
	REVERSED = "Reversed"
	PARTLY_REVERSED = "Partly Reversed"
	ALL = (COMPLETED, UNALLOCATED, ALLOCATED, REVERSED, PARTLY_REVERSED)
	REVERSIBLE = (COMPLETED, ALLOCATED, PARTLY_REVERSED)


class TransactionType:
	"""TukTuk Transaction ``transaction_type`` (how a C2B payment was routed)."""

	PAYMENT = "Payment"
	REPAYMENT = "Repayment"
	UNALLOCATED = "Unallocated"  # posted to suspense
	ALL = (PAYMENT, REPAYMENT, UNALLOCATED)
