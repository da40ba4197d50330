"""Opening balances: a driver loaded with non-zero balances gets a balanced opening voucher."""

from __future__ import annotations

from datetime import datetime

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import lock_drivers
from tuktuk_management.ledger.writer import PostingLine, post_voucher


def post_opening_balances(
	db: Database, driver: str, *, balances_kes: dict[str, int], now: datetime, user: str = "Administrator"
) -> list[str]:
	"""Post a driver's opening balances against the ``opening`` account.

	balances_kes: ``{"target"|"deposit"|"payable": whole KES}``; zero entries are skipped, a
	negative one is posted on the debit side. The driver's cached fields must be 0 before
	(they are moved by the posting). Voucher: TukTuk Driver / ``driver``. Returns the
	ledger entry names (empty if every balance is 0).
	"""
	lines: list[PostingLine] = []
	for account, amount_kes in sorted(balances_kes.items()):
		assert account in accounts.DRIVER_ACCOUNTS, account
		if amount_kes > 0:
			lines += [
				PostingLine(accounts.OPENING, debit_kes=amount_kes),
				PostingLine(account, credit_kes=amount_kes, party=driver),
			]
		elif amount_kes < 0:
			lines += [
				PostingLine(account, debit_kes=-amount_kes, party=driver),
				PostingLine(accounts.OPENING, credit_kes=-amount_kes),
			]
	if not lines:
		return []
	locked = lock_drivers(db, [driver])
	assert driver in locked, f"driver {driver!r} does not exist"
	row = locked[driver]
	assert row.current_balance_kes == row.current_deposit_balance_kes == row.payout_pending_kes == 0, (
		f"driver {driver} already has balances"
	)
	return post_voucher(
		db,
		voucher_type=accounts.DRIVER_DOCTYPE,
		voucher_no=driver,
		lines=lines,
		posting_datetime=now,
		locked=locked,
		remarks="Opening balance",
		user=user,
	)
