"""Match stored statement lines to the books, period by period (DESIGN §9).

Each line of the period gets one outcome (TukTuk Statement Line ``match_status``):

- **Matched**: a Paid In line whose receipt is a TukTuk Transaction (the C2B ``TransID``) with
  the same amount and account number, or a Withdrawn line whose receipt is a Paid TukTuk Payout's
  ``receipt`` with the same amount.
- **Differs**: the receipt is in the books with another amount (or account number).
- **Not in Books**: nothing in the books has the receipt: a Payment line (a paybill payment whose
  confirmation never arrived) is proposed for recovery; a withdrawal nobody can explain (money
  taken out of the paybill outside the app) is flagged.
- **Payout Unsettled**: a Withdrawn line that pays a payout still Sent, Unknown or Failed (same
  amount, same phone, sent within the settings' window before it): the payout was paid but its
  result was lost; :mod:`.recover` settles it through the payout lifecycle.
- **Paid Twice**: a Withdrawn line that pays a payout already Paid under another receipt.
- **Charge Posted**: a fee line (``Charge`` in its details or reason type); its fee is posted once
  to ``mpesa_charges`` against ``paybill`` through the ledger writer (voucher: the line).
- **Ignored**: a line whose Transaction Status is not Completed (no money moved).

And the books' side, period-aware: TukTuk Transactions (by ``timestamp``) and Paid payouts (by
``finished_at``) inside the statement's period whose receipt is not in it are **Not in Statement**.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database, affected_rows
from tuktuk_management.ledger.mpesa_statement import parse
from tuktuk_management.ledger.mpesa_statement.store import (
	DIFFERENCES,
	IMPORT_DOCTYPE,
	LINE_DOCTYPE,
	UNMATCHED,
	decimal_kes,
)
from tuktuk_management.ledger.mpesa_statement.store import (
	MATCHED as IMPORT_MATCHED,
)
from tuktuk_management.ledger.mpesa_statement.stored import LINES_MAX as LINES_MAX
from tuktuk_management.ledger.mpesa_statement.stored import StoredLine as StoredLine
from tuktuk_management.ledger.mpesa_statement.stored import chunks, placeholders
from tuktuk_management.ledger.mpesa_statement.stored import import_period as import_period
from tuktuk_management.ledger.mpesa_statement.stored import load_lines as load_lines
from tuktuk_management.ledger.mpesa_statement.stored import payout_window as payout_window
from tuktuk_management.ledger.mpesa_statement.stored import stored_period as stored_period
from tuktuk_management.ledger.rows import sql_datetime
from tuktuk_management.ledger.writer import LockedDrivers, PostingLine, post_voucher

MATCHED = "Matched"
DIFFERS = "Differs"
NOT_IN_BOOKS = "Not in Books"
PAYOUT_UNSETTLED = "Payout Unsettled"
PAID_TWICE = "Paid Twice"
CHARGE_POSTED = "Charge Posted"
IGNORED = "Ignored"
NOT_IN_STATEMENT = "Not in Statement"  # a book entry of the period with no statement line
LINE_OUTCOMES = (MATCHED, DIFFERS, NOT_IN_BOOKS, PAYOUT_UNSETTLED, PAID_TWICE, CHARGE_POSTED, IGNORED)
DIFFERENCE_OUTCOMES = (DIFFERS, NOT_IN_BOOKS, PAYOUT_UNSETTLED, PAID_TWICE)

RECOVERED_NOTE = "recovered from the statement"
LISTED_MAX = 200  # book entries listed in a summary
DEFAULT_PAYOUT_WINDOW = timedelta(hours=48)
CLOCK_SKEW = timedelta(minutes=10)  # a statement time may run this far ahead of our clock
UNSETTLED_PAYOUT_STATUSES = ("Sent", "Unknown", "Failed")


@dataclass
class LineMatch:
	"""The outcome of one line; ``recoverable`` for a missed paybill payment."""

	line: StoredLine
	status: str
	note: str = ""
	transaction: str | None = None
	payout: str | None = None
	recovered: bool = False
	recoverable: bool = False


@dataclass
class MatchResult:
	period_start: datetime | None
	period_end: datetime | None
	matches: list[LineMatch] = field(default_factory=list)
	not_in_statement: list[dict] = field(default_factory=list)  # {doctype, name, amount_kes, at}
	charges_posted: int = 0

	@property
	def differences(self) -> int:
		return sum(1 for m in self.matches if m.status in DIFFERENCE_OUTCOMES) + len(self.not_in_statement)

	@property
	def exit_code(self) -> int:
		return 0 if self.differences == 0 else 1

	def summary(self) -> dict:
		"""Counts and amounts (KES) by outcome, as JSON-ready values."""
		outcomes = {status: {"count": 0, "amount_kes": Decimal(0)} for status in LINE_OUTCOMES}
		for match in self.matches:
			outcomes[match.status]["count"] += 1
			outcomes[match.status]["amount_kes"] += match.line.amount_kes
		recoverable = [m for m in self.matches if m.recoverable]
		unsettled = [m for m in self.matches if m.status == PAYOUT_UNSETTLED]
		books = self.not_in_statement
		return json_ready(
			{
				"period_start": self.period_start.isoformat(" ") if self.period_start else None,
				"period_end": self.period_end.isoformat(" ") if self.period_end else None,
				"lines": len(self.matches),
				"outcomes": outcomes,
				"not_in_statement": {
					"count": len(books),
					"amount_kes": sum((Decimal(b["amount_kes"]) for b in books), Decimal(0)),
					"transactions": sum(1 for b in books if b["doctype"] == accounts.TRANSACTION_DOCTYPE),
					"payouts": sum(1 for b in books if b["doctype"] == accounts.PAYOUT_DOCTYPE),
					"entries": books[:LISTED_MAX],
				},
				"recoverable": {
					"count": len(recoverable),
					"amount_kes": sum((m.line.amount_kes for m in recoverable), Decimal(0)),
				},
				"payouts_to_settle": {
					"count": len(unsettled),
					"amount_kes": sum((m.line.amount_kes for m in unsettled), Decimal(0)),
				},
				"statement_in_kes": sum(
					(m.line.paid_in_kes for m in self.matches if m.status != IGNORED), Decimal(0)
				),
				"statement_out_kes": sum(
					(m.line.withdrawn_kes for m in self.matches if m.status != IGNORED), Decimal(0)
				),
				"charges_posted_now": self.charges_posted,
				"differences": self.differences,
				"all_matched": self.differences == 0,
			}
		)


def json_ready(value):
	"""Decimals as int when whole, else as exact strings; recursively."""
	if isinstance(value, Decimal):
		return int(value) if value == value.to_integral_value() else str(value)
	if isinstance(value, dict):
		return {key: json_ready(item) for key, item in value.items()}
	if isinstance(value, list | tuple):
		return [json_ready(item) for item in value]
	if isinstance(value, datetime):
		return value.isoformat(" ")
	return value


def match_lines(
	db: Database,
	lines: list[StoredLine],
	*,
	period_start: datetime,
	period_end: datetime,
	payout_window: timedelta = DEFAULT_PAYOUT_WINDOW,
	books_payouts: bool = True,
) -> MatchResult:
	"""Decide each line's outcome and find the book entries of the period missing from the
	statement (Paid payouts too unless ``books_payouts`` is False: a source of C2B lines only).
	Reads only (no locks, no writes)."""
	result = MatchResult(period_start, period_end)
	receipts = [line.receipt_no for line in lines]
	transactions: dict[str, tuple] = {}
	payouts_by_receipt: dict[str, tuple] = {}
	for chunk in chunks(sorted(set(receipts))):
		for name, amount, bill_ref, callback_log in db.sql(
			f"""select name, amount, bill_ref_number, callback_log from `tabTukTuk Transaction`
			where name in ({placeholders(chunk)})""",
			tuple(chunk),
		):
			transactions[name] = (decimal_kes(amount), (bill_ref or "").strip().upper(), callback_log)
		for name, receipt, amount, status in db.sql(
			f"""select name, receipt, amount, status from `tabTukTuk Payout` where receipt in ({placeholders(chunk)})""",
			tuple(chunk),
		):
			payouts_by_receipt[receipt] = (name, decimal_kes(amount), status)

	unexplained_out: list[LineMatch] = []
	for line in lines:
		match = _match_line(line, transactions, payouts_by_receipt)
		if match is None:
			match = LineMatch(line, NOT_IN_BOOKS)
			unexplained_out.append(match)
		result.matches.append(match)
	to_phones = [m for m in unexplained_out if m.line.line_type == parse.PAYOUT]
	for other in unexplained_out:
		if other.line.line_type != parse.PAYOUT:
			other.note = "withdrawal made outside the app"
	if to_phones:
		# Only a payment to a phone can be one of our payouts (a bank transfer of the same amount
		# is not).
		_explain_withdrawals(db, to_phones, payout_window=payout_window)

	result.not_in_statement = _not_in_statement(
		db, set(receipts), period_start, period_end, books_payouts=books_payouts
	)
	return result


def _not_in_statement(
	db: Database,
	statement_receipts: set[str],
	period_start: datetime,
	period_end: datetime,
	*,
	books_payouts: bool,
) -> list[dict]:
	"""Transactions (by ``timestamp``) and, with ``books_payouts``, Paid payouts (by ``finished_at``)
	of the period whose receipt is not among ``statement_receipts``."""
	missing: list[dict] = []
	for name, amount, at in db.sql(
		"""select name, amount, `timestamp` from `tabTukTuk Transaction`
		where `timestamp` between %s and %s order by `timestamp`, name""",
		(sql_datetime(period_start), sql_datetime(period_end)),
	):
		if name not in statement_receipts:
			missing.append(
				{
					"doctype": accounts.TRANSACTION_DOCTYPE,
					"name": name,
					"amount_kes": decimal_kes(amount),
					"at": at,
				}
			)
	payouts_paid = (
		db.sql(
			"""select name, receipt, amount, finished_at from `tabTukTuk Payout`
		where status = 'Paid' and finished_at between %s and %s order by finished_at, name""",
			(sql_datetime(period_start), sql_datetime(period_end)),
		)
		if books_payouts
		else ()
	)
	for name, receipt, amount, at in payouts_paid:
		if receipt not in statement_receipts:
			missing.append(
				{
					"doctype": accounts.PAYOUT_DOCTYPE,
					"name": name,
					"amount_kes": decimal_kes(amount),
					"at": at,
				}
			)
	return missing


def _match_line(
	line: StoredLine, transactions: dict[str, tuple], payouts_by_receipt: dict[str, tuple]
) -> LineMatch | None:
	"""The outcome decided from the receipt alone; None for a withdrawal the receipt does not
	explain (then payouts are searched by amount, phone and time)."""
	if not line.completed:
		return LineMatch(line, IGNORED, note=f"transaction status {line.transaction_status}")
	if line.line_type == parse.CHARGE:
		linked = f" for {line.linked_transaction_id}" if line.linked_transaction_id else ""
		if line.amount_kes != line.amount_kes.to_integral_value():
			return LineMatch(line, DIFFERS, note=f"fee{linked} is not whole shillings; post it by journal")
		return LineMatch(line, CHARGE_POSTED, note=f"M-Pesa fee{linked}")
	if line.paid_in_kes > 0:
		found = transactions.get(line.receipt_no)
		if found is None:
			if line.line_type != parse.PAYMENT:
				return LineMatch(line, NOT_IN_BOOKS, note="money in that is not a paybill payment")
			if line.paid_in_kes != line.paid_in_kes.to_integral_value():
				return LineMatch(line, NOT_IN_BOOKS, note="not whole shillings: recover it by hand")
			return LineMatch(
				line, NOT_IN_BOOKS, note="paybill payment without a transaction: recover", recoverable=True
			)
		amount, bill_ref, callback_log = found
		recovered = line.recovered or bool(line.recovery_log and callback_log == line.recovery_log)
		differences = []
		if amount != line.paid_in_kes:
			differences.append(f"amount {amount} in the books, {line.paid_in_kes} in the statement")
		if line.account_no and bill_ref != line.account_no.strip().upper():
			differences.append(f"account {bill_ref} in the books, {line.account_no} in the statement")
		status = DIFFERS if differences else MATCHED
		note = "; ".join(differences) or (RECOVERED_NOTE if recovered else "")
		return LineMatch(line, status, note=note, transaction=line.receipt_no, recovered=recovered)
	found = payouts_by_receipt.get(line.receipt_no)
	if found is None:
		return None
	payout, amount, _status = found
	if amount != line.withdrawn_kes:
		return LineMatch(
			line,
			DIFFERS,
			note=f"payout amount {amount} in the books, {line.withdrawn_kes} in the statement",
			payout=payout,
		)
	return LineMatch(line, MATCHED, payout=payout)


def _explain_withdrawals(db: Database, unexplained: list[LineMatch], *, payout_window: timedelta) -> None:
	"""Match withdrawals without a known receipt to payouts of the same amount to the same phone,
	sent within ``payout_window`` before them: an unsettled payout first (Payout Unsettled), else a
	Paid one (Paid Twice). One payout explains at most one line."""
	earliest = min(m.line.completion_time for m in unexplained) - payout_window
	latest = max(m.line.completion_time for m in unexplained) + CLOCK_SKEW
	amounts = sorted({m.line.withdrawn_kes for m in unexplained})
	candidates = db.sql(
		f"""select p.name, p.amount, p.status, p.receipt, p.attempts, p.last_attempt_at, d.mpesa_number
		from `tabTukTuk Payout` p left join `tabTukTuk Driver` d on d.name = p.driver
		where p.amount in ({placeholders(amounts)}) and p.status in ('Sent', 'Unknown', 'Failed', 'Paid')
		and p.attempts > 0 and p.last_attempt_at between %s and %s
		order by p.last_attempt_at, p.name""",
		(*amounts, sql_datetime(earliest), sql_datetime(latest)),
	)
	by_amount: dict[Decimal, list[tuple]] = defaultdict(list)
	for row in candidates:
		by_amount[decimal_kes(row[1])].append(row)
	taken: set[str] = set()
	for match in unexplained:
		line = match.line
		fitting = [
			row
			for row in by_amount.get(line.withdrawn_kes, [])
			if row[0] not in taken
			and line.completion_time - payout_window <= row[5] <= line.completion_time + CLOCK_SKEW
			and phone_matches(line.other_party_info, row[6]) is not False
		]
		unsettled = [row for row in fitting if row[2] in UNSETTLED_PAYOUT_STATUSES]
		paid = [row for row in fitting if row[2] == "Paid" and row[3] != line.receipt_no]
		if unsettled:
			row = unsettled[0]
			taken.add(row[0])
			match.status, match.payout = PAYOUT_UNSETTLED, row[0]
			match.note = f"payout {row[0]} is {row[2]}; the statement shows it paid: settle"
		elif paid:
			row = paid[0]
			taken.add(row[0])
			match.status, match.payout = PAID_TWICE, row[0]
			match.note = f"payout {row[0]} is already Paid with receipt {row[3]}: paid twice"
		else:
			match.note = "payment to a phone that no payout explains (made outside the app?)"


def _msisdn(value: str) -> str | None:
	"""``07XXXXXXXX``, ``+2547XXXXXXXX`` ... as ``2547XXXXXXXX`` (or ``2541...``); None if not one."""
	digits = "".join(ch for ch in value if ch.isdigit())
	if digits.startswith("0") and len(digits) == 10:
		digits = "254" + digits[1:]
	elif len(digits) == 9 and digits[0] in "71":
		digits = "254" + digits
	return digits if len(digits) == 12 and digits.startswith("254") and digits[3] in "71" else None


def phone_matches(statement_text: str, msisdn: str | None) -> bool | None:
	"""Whether the phone number in a statement's Other Party Info is ``msisdn``; None when the
	text has no phone number. Masked digits (``2547****678``) match any digit."""
	found = re.search(r"\+?(\d[\d*]{7,14})", statement_text or "")
	if not found:
		return None
	if not msisdn:
		return False
	token = found.group(1)
	if token.startswith("0"):
		token = "254" + token[1:]
	number = _msisdn(msisdn)
	if number is None:
		return False
	if "*" not in token:
		return token == number
	prefix, suffix = token.split("*", 1)[0], token.rsplit("*", 1)[1]
	return len(token) == len(number) and number.startswith(prefix) and number.endswith(suffix)


def post_charges(db: Database, matches: list[LineMatch], *, now: datetime, user: str) -> int:
	"""Post each fee line's voucher once (mpesa_charges against paybill), in the caller's
	transaction; return how many were posted now. A line is claimed by one conditional UPDATE of
	``charge_posted`` (the row lock makes a concurrent match wait and then skip it)."""
	posted = 0
	for match in matches:
		line = match.line
		if match.status != CHARGE_POSTED or line.charge_posted:
			continue
		db.sql(
			f"update `tab{LINE_DOCTYPE}` set charge_posted = 1 where name = %s and charge_posted = 0",
			(line.name,),
		)
		if not affected_rows(db):
			continue
		amount_kes = int(line.amount_kes)
		if line.withdrawn_kes > 0:
			lines = [
				PostingLine(accounts.MPESA_CHARGES, debit_kes=amount_kes),
				PostingLine(accounts.PAYBILL, credit_kes=amount_kes),
			]
		else:  # a fee refunded
			lines = [
				PostingLine(accounts.PAYBILL, debit_kes=amount_kes),
				PostingLine(accounts.MPESA_CHARGES, credit_kes=amount_kes),
			]
		post_voucher(
			db,
			voucher_type=accounts.STATEMENT_LINE_DOCTYPE,
			voucher_no=line.name,
			lines=lines,
			posting_datetime=line.completion_time,
			locked=LockedDrivers(),
			remarks=f"M-Pesa fee {line.receipt_no}"
			+ (f" for {line.linked_transaction_id}" if line.linked_transaction_id else ""),
			user=user,
		)
		line.charge_posted = True
		posted += 1
	return posted


def save_matches(db: Database, matches: list[LineMatch], *, now: datetime) -> int:
	"""Write each line's outcome where it changed; return the lines updated.

	Lines with the same outcome are updated together (one UPDATE per outcome, note, payout and
	chunk of QUERY_CHUNK_MAX lines): a line's transaction is its own receipt or none."""
	groups: dict[tuple, list[str]] = defaultdict(list)
	for match in matches:
		line = match.line
		recovered = line.recovered or match.recovered
		assert match.transaction in (None, line.receipt_no), match
		if (line.match_status, line.match_note, line.transaction, line.payout, line.recovered) == (
			match.status,
			match.note,
			match.transaction,
			match.payout,
			recovered,
		):
			continue
		key = (match.status, match.note[:1000], match.transaction is not None, match.payout, int(recovered))
		groups[key].append(line.name)
	at = sql_datetime(now)
	updated = 0
	for (status, note, has_transaction, payout, recovered), names in groups.items():
		for chunk in chunks(names):
			db.sql(
				f"""update `tab{LINE_DOCTYPE}` set match_status = %s, match_note = %s,
				`transaction` = if(%s, receipt_no, null), payout = %s, recovered = %s, matched_at = %s,
				modified = %s where name in ({placeholders(chunk)})""",
				(status, note, int(has_transaction), payout, recovered, at, at, *chunk),
			)
			updated += len(chunk)
	return updated


def run_match(
	db: Database,
	*,
	now: datetime,
	user: str,
	statement_import: str | None = None,
	period_start: datetime | None = None,
	period_end: datetime | None = None,
	payout_window: timedelta = DEFAULT_PAYOUT_WINDOW,
	books_payouts: bool = True,
) -> MatchResult:
	"""Match the lines of a period (an import's period, the given one, or every stored line),
	post their fees once, save each line's outcome and, for an import, its summary and status.
	In the caller's transaction (the caller commits; deadlocks are retried by the caller)."""
	if statement_import:
		period_start, period_end = import_period(db, statement_import)
	elif period_start is None or period_end is None:
		stored = stored_period(db)
		if stored is None:
			return MatchResult(None, None)
		period_start = period_start or stored[0]
		period_end = period_end or stored[1]
	lines = load_lines(db, period_start, period_end)
	result = match_lines(
		db,
		lines,
		period_start=period_start,
		period_end=period_end,
		payout_window=payout_window,
		books_payouts=books_payouts,
	)
	result.charges_posted = post_charges(db, result.matches, now=now, user=user)
	save_matches(db, result.matches, now=now)
	if statement_import:
		at = sql_datetime(now)
		db.sql(
			f"""update `tab{IMPORT_DOCTYPE}` set matched_at = %s, differences = %s, match_summary = %s,
			status = %s, modified = %s where name = %s""",
			(
				at,
				result.differences,
				json.dumps(result.summary(), indent=1, default=str),
				DIFFERENCES if result.differences else IMPORT_MATCHED,
				at,
				statement_import,
			),
		)
	return result
