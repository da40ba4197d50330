"""A driver's statement: ledger lines in a date range with running balances per account.

Read-only; used by the Driver Statement report and the driver form. A driver account's balance
is Σ credit − Σ debit of its lines (credit-normal, see :mod:`tuktuk_management.ledger.accounts`),
so the closing balances of a statement that runs to today equal the driver's cached balances
(``current_balance``, ``current_deposit_balance``, ``payout_pending``) — the invariant
reconciliation checks.

Both queries use the ``(party, posting_datetime)`` index of ``tabTukTuk Ledger Entry``
(:mod:`tuktuk_management.ledger.schema`): the opening balance is a range scan of the driver's
lines before the range, the lines a range scan inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes

# A statement longer than this is refused: the reader narrows the date range instead.
STATEMENT_LINES_MAX = 5000


class StatementTooLong(ValueError):
	"""More than :data:`STATEMENT_LINES_MAX` lines in the range."""


@dataclass(frozen=True)
class StatementLine:
	"""One ledger line of the driver, with every driver account's balance after it (whole KES)."""

	posting_datetime: datetime
	account: str
	debit_kes: int
	credit_kes: int
	voucher_type: str
	voucher_no: str
	is_reversal: bool
	remarks: str
	balances_kes_after: dict[str, int]


@dataclass(frozen=True)
class Statement:
	"""``opening_kes``/``closing_kes``: balance per driver account (target, deposit, payable)
	before ``from_date`` and at the end of ``to_date``; ``lines`` in posting order."""

	driver: str
	from_date: date
	to_date: date
	opening_kes: dict[str, int]
	lines: list[StatementLine] = field(default_factory=list)

	@property
	def closing_kes(self) -> dict[str, int]:
		return dict(self.lines[-1].balances_kes_after) if self.lines else dict(self.opening_kes)


def _start_of(day: date) -> datetime:
	return datetime.combine(day, time.min)


def driver_statement(
	db: Database, driver: str, from_date: date, to_date: date, *, lines_max: int = STATEMENT_LINES_MAX
) -> Statement:
	"""The statement of ``driver`` (TukTuk Driver name) from ``from_date`` to ``to_date`` inclusive.

	Dates are in the site time zone, compared with ``posting_datetime``. Lines are ordered by
	``posting_datetime`` then ``creation`` then voucher, so a voucher's lines stay together.
	Raises ValueError if ``to_date`` is before ``from_date`` and :class:`StatementTooLong` if the
	range holds more than ``lines_max`` lines.
	"""
	if to_date < from_date:
		raise ValueError("the statement's end date is before its start date")
	start, end = _start_of(from_date), _start_of(to_date + timedelta(days=1))
	opening = dict.fromkeys(accounts.DRIVER_ACCOUNTS, 0)
	for account, balance in db.sql(
		"""select account, sum(credit) - sum(debit) from `tabTukTuk Ledger Entry`
		where party = %s and party_type = %s and posting_datetime < %s group by account""",
		(driver, accounts.DRIVER_DOCTYPE, start),
	):
		if account in opening:
			opening[account] = to_kes(balance)
	rows = db.sql(
		"""select posting_datetime, account, debit, credit, voucher_type, voucher_no, is_reversal, remarks
		from `tabTukTuk Ledger Entry`
		where party = %s and party_type = %s and posting_datetime >= %s and posting_datetime < %s
		order by posting_datetime, creation, voucher_no, account, name
		limit %s""",
		(driver, accounts.DRIVER_DOCTYPE, start, end, lines_max + 1),
	)
	if len(rows) > lines_max:
		raise StatementTooLong(
			f"more than {lines_max} ledger lines between {from_date} and {to_date}; choose a shorter range"
		)
	balances = dict(opening)
	lines = []
	for posting_datetime, account, debit, credit, voucher_type, voucher_no, is_reversal, remarks in rows:
		debit_kes, credit_kes = to_kes(debit), to_kes(credit)
		balances[account] = balances.get(account, 0) + credit_kes - debit_kes
		lines.append(
			StatementLine(
				posting_datetime=posting_datetime,
				account=account,
				debit_kes=debit_kes,
				credit_kes=credit_kes,
				voucher_type=voucher_type,
				voucher_no=voucher_no,
				is_reversal=bool(is_reversal),
				remarks=remarks or "",
				balances_kes_after={name: balances.get(name, 0) for name in accounts.DRIVER_ACCOUNTS},
			)
		)
	return Statement(driver=driver, from_date=from_date, to_date=to_date, opening_kes=opening, lines=lines)


def cached_balances_kes(db: Database, driver: str) -> dict[str, int] | None:
	"""The driver's cached balances keyed by account (None if the driver does not exist)."""
	columns = ", ".join(accounts.CACHE_FIELD[account] for account in accounts.DRIVER_ACCOUNTS)
	rows = db.sql(f"select {columns} from `tabTukTuk Driver` where name = %s", (driver,))
	if not rows:
		return None
	return {account: to_kes(value) for account, value in zip(accounts.DRIVER_ACCOUNTS, rows[0], strict=True)}
