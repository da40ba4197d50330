"""The status and source words of TukTuk Withdrawal Request, defined once (match the DocType JSON)."""

from __future__ import annotations


class WithdrawalStatus:
	"""TukTuk Withdrawal Request ``status``. Whether M-Pesa paid an Approved request is its
	payout's status (``payout``), not repeated here."""

	REQUESTED = "Requested"  # waiting for a manager; its amount is reserved
	APPROVED = "Approved"  # its one payout is queued
	REJECTED = "Rejected"
	ALL = (REQUESTED, APPROVED, REJECTED)


class WithdrawalSource:
	"""TukTuk Withdrawal Request ``source``: who asked for the money to be paid out."""

	DRIVER_REQUEST = "Driver Request"
	PAY_NOW = "Pay Now"
	SWEEP = "Sweep"
	ALL = (DRIVER_REQUEST, PAY_NOW, SWEEP)


AUTOMATIC = "Automatic"  # ``decided_by`` of a request approved under the auto-approve threshold
