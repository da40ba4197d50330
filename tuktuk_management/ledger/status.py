"""The status words of TukTuk Callback Log, TukTuk Payout and TukTuk Transaction (and the Callback
Log's endpoint names), defined once.

Each class holds the options of one Select field as plain ``str`` constants (so they go into
SQL parameters, JSON and ``==`` comparisons with stored values unchanged) plus the groups the
flows ask about. The words match the DocType JSON options exactly. A C2B confirmation's outcome
and a B2C result's outcome are stored as the callback log's status, so ``ledger.c2b`` and
``ledger.payouts`` name their outcomes with :class:`LogStatus` words.
"""

from __future__ import annotations


class LogStatus:
	"""TukTuk Callback Log ``status``: what became of one stored callback."""

	RECEIVED = "Received"  # stored, not applied yet (or processing is paused)
	PROCESSED = "Processed"
	DUPLICATE = "Duplicate"
	CONFLICT = "Conflict"
	UNALLOCATED = "Unallocated"
	INVALID = "Invalid"
	FAILED = "Failed"  # an unexpected error; the scheduled job retries it
	REJECTED = "Rejected"  # refused caller (token or IP), or a validation call that was refused
	ALL = (RECEIVED, PROCESSED, DUPLICATE, CONFLICT, UNALLOCATED, INVALID, FAILED, REJECTED)
	WAITING = (RECEIVED, FAILED)  # still to apply: the only statuses a claim takes


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
	NOT_APPLIED = "Not Applied"  # recorded by the original app as Pending/Failed (pre-ledger)
	ALL = (COMPLETED, UNALLOCATED, ALLOCATED, REVERSED, PARTLY_REVERSED, NOT_APPLIED)
	REVERSIBLE = (COMPLETED, ALLOCATED, PARTLY_REVERSED)


class TransactionType:
	"""TukTuk Transaction ``transaction_type`` (how a C2B payment was routed)."""

	PAYMENT = "Payment"
	REPAYMENT = "Repayment"
	UNALLOCATED = "Unallocated"  # posted to suspense
	ALL = (PAYMENT, REPAYMENT, UNALLOCATED)


class CallbackEndpoint:
	"""TukTuk Callback Log ``endpoint``: which Daraja callback a stored body came from."""

	C2B_CONFIRMATION = "C2B Confirmation"
	C2B_VALIDATION = "C2B Validation"
	B2C_RESULT = "B2C Result"
	B2C_TIMEOUT = "B2C Timeout"
	ACCOUNT_BALANCE_RESULT = "Account Balance Result"
	ACCOUNT_BALANCE_TIMEOUT = "Account Balance Timeout"
	ALL = (
		C2B_CONFIRMATION,
		C2B_VALIDATION,
		B2C_RESULT,
		B2C_TIMEOUT,
		ACCOUNT_BALANCE_RESULT,
		ACCOUNT_BALANCE_TIMEOUT,
	)


class VehicleStatus:
	"""TukTuk Vehicle ``status``: only an Active vehicle's payments go to a driver."""

	ACTIVE = "Active"
	MAINTENANCE = "Maintenance"
	RETIRED = "Retired"
	ALL = (ACTIVE, MAINTENANCE, RETIRED)


class SubstitutionStatus:
	"""TukTuk Substitution ``status``: Cancelled is how a substitution is withdrawn (kept for history)."""

	ACTIVE = "Active"
	CANCELLED = "Cancelled"
	ALL = (ACTIVE, CANCELLED)


class DriverStatus:
	"""TukTuk Driver ``status`` (the driver lifecycle, DESIGN §8)."""

	ACTIVE = "Active"
	INACTIVE = "Inactive"
	SUSPENDED = "Suspended"
	TERMINATED = "Terminated"
	ALL = (ACTIVE, INACTIVE, SUSPENDED, TERMINATED)
