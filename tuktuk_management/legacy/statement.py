"""Transactions recorded by the original app, for a driver's statement.

They have no postings (their money is in the driver's opening voucher), so a statement shows them
as information lines that do not move the running balances.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from tuktuk_management.ledger.database import Database
from tuktuk_management.legacy.plan import legacy_kes

PRE_LEDGER_LINES_MAX = 1000


@dataclass(frozen=True)
class PreLedgerLine:
	timestamp: datetime
	transaction: str  # the TukTuk Transaction name (random for the original's rows)
	trans_id: str
	amount_kes: int
	target_contribution_kes: int
	driver_share_kes: int
	original_type: str
	original_status: str

	@property
	def remarks(self) -> str:
		return (
			f"Recorded by the original app (in the opening balance): TransID {self.trans_id}, "
			f"{self.original_type or 'Payment'} {self.amount_kes} KES, to target {self.target_contribution_kes} KES, "
			f"driver share {self.driver_share_kes} KES, {self.original_status or 'no status'}"
		)


def pre_ledger_lines(db: Database, driver: str, from_date: date, to_date: date) -> list[PreLedgerLine]:
	"""The driver's pre-ledger transactions with ``timestamp`` from ``from_date`` to ``to_date``
	inclusive (at most PRE_LEDGER_LINES_MAX, oldest first)."""
	rows = db.sql(
		f"""select timestamp, name, transaction_id, amount, target_contribution, driver_share,
		legacy_transaction_type, legacy_payment_status from `tabTukTuk Transaction`
		where driver = %s and pre_ledger = 1 and timestamp >= %s and timestamp < %s
		order by timestamp, name limit {PRE_LEDGER_LINES_MAX}""",
		(
			driver,
			datetime.combine(from_date, time.min),
			datetime.combine(to_date + timedelta(days=1), time.min),
		),
	)
	return [
		PreLedgerLine(
			timestamp=row[0],
			transaction=row[1],
			trans_id=row[2] or "",
			amount_kes=legacy_kes(row[3])[0],
			target_contribution_kes=legacy_kes(row[4])[0],
			driver_share_kes=legacy_kes(row[5])[0],
			original_type=row[6] or "",
			original_status=row[7] or "",
		)
		for row in rows
	]
