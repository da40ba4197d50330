"""Pull Transactions: the paybill's recent C2B transactions from Daraja, fed into the matching.

Each run asks Daraja for the transactions of the last ``pull_lookback`` (paged by offset,
bounded), stores them as statement lines of a TukTuk Statement Import with source Pull
Transactions (each receipt once, like any import) and matches the window: a payment whose
confirmation never arrived shows as Not in Books within the hour, proposed for recovery. Only C2B
transactions come back, so the books side of the window is checked for transactions only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from tuktuk_management.daraja import pulls
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.mpesa_statement import match, parse, store
from tuktuk_management.ledger.mpesa_statement.config import StatementSettings
from tuktuk_management.ledger.rows import sql_datetime

PULL_SOURCE = "Pull Transactions"
PAGE_SIZE = 1_000  # Daraja returns at most this many per query
PAGES_MAX = 20
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class PullClient(Protocol):
	def pull_transactions(self, *, shortcode: str, start: str, end: str, offset: int = 0) -> dict: ...


def pulled_lines(transactions: list[pulls.PulledTransaction]) -> list[parse.StatementLine]:
	"""Statement lines (Payment kind) for pulled C2B transactions with a positive amount."""
	return [
		parse.StatementLine(
			line_no=index + 1,
			receipt_no=transaction.trans_id,
			completion_time=transaction.completed_at,
			details=f"Pull Transactions: {transaction.transaction_type}"[:140],
			paid_in_kes=transaction.amount_kes,
			withdrawn_kes=Decimal(0),
			reason_type="Pay Bill",
			account_no=transaction.bill_ref_number,
		)
		for index, transaction in enumerate(transactions)
		if transaction.amount_kes > 0 and parse.RECEIPT_PATTERN.match(transaction.trans_id)
	]


def fetch(
	client: PullClient, *, shortcode: str, start: datetime, end: datetime
) -> list[pulls.PulledTransaction]:
	"""Every transaction of the window, page by page (at most PAGES_MAX pages)."""
	fetched: list[pulls.PulledTransaction] = []
	for _page in range(PAGES_MAX):
		reply = client.pull_transactions(
			shortcode=shortcode,
			start=start.strftime(TIME_FORMAT),
			end=end.strftime(TIME_FORMAT),
			offset=len(fetched),
		)
		page = pulls.parse_pull_reply(reply)
		fetched += page
		if len(page) < PAGE_SIZE:
			break
	return fetched


def pull_and_match(
	db: Database,
	client: PullClient,
	*,
	settings: StatementSettings,
	clock: Callable[[], datetime],
	commit: Callable[[], None],
	user: str = "Administrator",
) -> dict:
	"""Pull the look-back window, store and match it (one committed unit of work after the HTTP
	calls, which run with no transaction open). Returns the import's name, counts and the match
	summary."""
	end = clock()
	start = end - settings.pull_lookback
	transactions = fetch(client, shortcode=settings.paybill, start=start, end=end)
	lines = pulled_lines(transactions)
	now = clock()
	name = store.create_import(
		db, now=now, user=user, source=PULL_SOURCE, file_name=f"pull {start:%Y-%m-%d %H:%M}"
	)
	imported = store.store_lines(db, name, lines, now=now, user=user)
	db.sql(
		f"update `tab{store.IMPORT_DOCTYPE}` set period_start = %s, period_end = %s where name = %s",
		(sql_datetime(start), sql_datetime(end), name),
	)
	result = match.run_match(
		db,
		now=now,
		user=user,
		statement_import=name,
		payout_window=settings.payout_window,
		books_payouts=False,
	)
	commit()  # unit-of-work boundary: the pulled lines, their match and the import's summary
	return {
		"statement_import": name,
		"pulled": len(transactions),
		"lines_new": imported.lines_new,
		"summary": result.summary(),
	}
