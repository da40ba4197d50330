"""What of a driver's payable may still be paid out (read under the driver's row lock).

``payout_pending`` (the payable account) is only debited when a payout is Paid, so it still holds
every payout on its way: Queued (written, not sent yet), Sent and Unknown (with M-Pesa) and
Failed (retried by policy or by a manager until someone cancels it). What may still be paid is

    available = payout_pending − Σ open payouts − Σ withdrawal requests waiting for a manager

A Cancelled payout's amount is free again; a Paid one has left payable. Every read here is a
locking read: under REPEATABLE READ a plain SELECT could return a snapshot from before a payout
another flow committed while this one waited for the driver lock, and the same money would be
paid twice.
"""

from __future__ import annotations

from tuktuk_management.ledger import doctypes
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import LockedDrivers
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.owed.words import WithdrawalStatus
from tuktuk_management.ledger.status import PayoutStatus

PAYOUT_DOCTYPE = doctypes.PAYOUT
REQUEST_DOCTYPE = doctypes.WITHDRAWAL_REQUEST
OPEN_PAYOUT_STATUSES = (PayoutStatus.QUEUED, PayoutStatus.SENT, PayoutStatus.UNKNOWN, PayoutStatus.FAILED)


def open_payouts_kes(db: Database, driver: str) -> int:
	"""Σ amount of the driver's payouts not Paid and not Cancelled (locking read, whole KES)."""
	placeholders = ", ".join(["%s"] * len(OPEN_PAYOUT_STATUSES))
	rows = db.sql(
		f"""select coalesce(sum(amount), 0) from `tab{PAYOUT_DOCTYPE}`
		where driver = %s and status in ({placeholders}) for update""",
		(driver, *OPEN_PAYOUT_STATUSES),
	)
	return to_kes(rows[0][0])


def waiting_requests_kes(db: Database, driver: str, *, except_request: str | None = None) -> int:
	"""Σ amount of the driver's withdrawal requests still Requested (reserved), except one."""
	rows = db.sql(
		f"""select coalesce(sum(amount_kes), 0) from `tab{REQUEST_DOCTYPE}`
		where driver = %s and status = %s and name <> %s for update""",
		(driver, WithdrawalStatus.REQUESTED, except_request or ""),
	)
	return to_kes(rows[0][0])


def available_kes(
	db: Database, locked: LockedDrivers, driver: str, *, except_request: str | None = None
) -> int:
	"""What may still be paid out of ``driver``'s payable (never below 0); the driver row must be
	in ``locked`` (held ``FOR UPDATE``)."""
	assert driver in locked, f"driver {driver!r} is not locked FOR UPDATE"
	payable_kes = locked[driver].payout_pending_kes
	reserved_kes = open_payouts_kes(db, driver) + waiting_requests_kes(
		db, driver, except_request=except_request
	)
	return max(0, payable_kes - reserved_kes)
