"""Withdrawal requests and payouts on a driver's statement, as information lines.

A payout moves the driver's balances only when it is Paid (the TukTuk Payout voucher payable →
b2c, already a statement line). Everything before that — a request waiting for a manager, an
approved one, a payout Queued, Sent, Failed or Cancelled — is shown as an information line that
moves no running balance, so the statement tells the driver where each shilling of payable is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.owed.available import PAYOUT_DOCTYPE, REQUEST_DOCTYPE
from tuktuk_management.ledger.status import PayoutStatus

ACTIVITY_LINES_MAX = 1_000


@dataclass(frozen=True)
class ActivityLine:
	"""One information line: ``timestamp`` (site time), the document it is about and a text."""

	timestamp: datetime
	voucher_type: str
	voucher_no: str
	remarks: str


def payout_activity(db: Database, driver: str, from_date: date, to_date: date) -> list[ActivityLine]:
	"""The driver's withdrawal requests (by ``requested_at``) and payouts not Paid (by
	``queued_at``) from ``from_date`` to ``to_date`` inclusive, oldest first, at most
	ACTIVITY_LINES_MAX of each."""
	start = datetime.combine(from_date, time.min)
	end = datetime.combine(to_date + timedelta(days=1), time.min)
	requests = db.sql(
		f"""select r.requested_at, r.name, r.source, r.amount_kes, r.status, r.payout, p.status, r.reason
		from `tab{REQUEST_DOCTYPE}` r left join `tab{PAYOUT_DOCTYPE}` p on p.name = r.payout
		where r.driver = %s and r.requested_at >= %s and r.requested_at < %s
		order by r.requested_at, r.name limit {ACTIVITY_LINES_MAX}""",
		(driver, start, end),
	)
	payouts = db.sql(
		f"""select queued_at, name, amount, status from `tab{PAYOUT_DOCTYPE}`
		where driver = %s and status <> %s and queued_at >= %s and queued_at < %s
		order by queued_at, name limit {ACTIVITY_LINES_MAX}""",
		(driver, PayoutStatus.PAID, start, end),
	)
	lines = [
		ActivityLine(
			at,
			REQUEST_DOCTYPE,
			name,
			f"{source} of {to_kes(amount)} KES: {status}"
			+ (f", payout {payout} {payout_status}" if payout else "")
			+ (f" ({reason})" if reason else ""),
		)
		for at, name, source, amount, status, payout, payout_status, reason in requests
	]
	lines += [
		ActivityLine(at, PAYOUT_DOCTYPE, name, f"Payout of {to_kes(amount)} KES: {status} (not paid yet)")
		if status != PayoutStatus.CANCELLED
		else ActivityLine(
			at, PAYOUT_DOCTYPE, name, f"Payout of {to_kes(amount)} KES: Cancelled (stays payable)"
		)
		for at, name, amount, status in payouts
	]
	return sorted(lines, key=lambda line: (line.timestamp, line.voucher_no))
