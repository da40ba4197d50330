"""The one writer of ledger rows (DESIGN §2): balanced vouchers, append-only, caches in step.

Every posting goes through :func:`post_voucher`. It refuses an unbalanced or malformed voucher,
inserts its lines in one statement and moves the driver caches with relative SQL in the same
transaction. The caller must already hold the driver rows ``FOR UPDATE`` (see
:func:`tuktuk_management.ledger.drivers.lock_drivers`), so a cache and the lines that justify it
can never be seen apart. The writer only writes vouchers: locking lives in ``ledger.drivers``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import LockedDrivers
from tuktuk_management.ledger.rows import STANDARD_COLUMNS, new_name, sql_datetime

LINES_PER_VOUCHER_MAX = 100

LEDGER_COLUMNS = (
	"posting_datetime",
	"account",
	"party_type",
	"party",
	"debit",
	"credit",
	"voucher_type",
	"voucher_no",
	"is_reversal",
	"reversal_of",
	"remarks",
)


class UnbalancedVoucher(AssertionError):
	"""A voucher whose debits and credits differ; always a bug in the caller."""


class DriverNotLocked(AssertionError):
	"""A posting to a driver whose row the caller has not locked ``FOR UPDATE``."""


@dataclass(frozen=True)
class PostingLine:
	"""One posting line: ``debit_kes`` or ``credit_kes`` (whole KES, exactly one > 0).

	``party`` is a TukTuk Driver name for the driver accounts (target, deposit, payable) and
	None for company accounts.
	"""

	account: str
	debit_kes: int = 0
	credit_kes: int = 0
	party: str | None = None
	reversal_of: str | None = None

	def __post_init__(self) -> None:
		assert self.account in accounts.ALL_ACCOUNTS, f"unknown account {self.account!r}"
		assert isinstance(self.debit_kes, int) and isinstance(self.credit_kes, int)
		assert self.debit_kes >= 0 and self.credit_kes >= 0, self
		assert (self.debit_kes > 0) != (self.credit_kes > 0), f"exactly one side must be > 0: {self}"
		if self.account in accounts.DRIVER_ACCOUNTS:
			assert self.party, f"driver account {self.account} needs a party"
		else:
			assert self.party is None, f"company account {self.account} takes no party"


@lru_cache(maxsize=LINES_PER_VOUCHER_MAX)
def _insert_ledger_lines(count: int) -> str:
	"""The INSERT of ``count`` TukTuk Ledger Entry rows with named parameters (see post_voucher)."""
	assert 1 <= count <= LINES_PER_VOUCHER_MAX
	columns = ", ".join(f"`{column}`" for column in STANDARD_COLUMNS + LEDGER_COLUMNS)
	rows = [
		f"(%(n{i})s, %(at)s, %(at)s, %(user)s, %(user)s, 0, {i + 1}, %(at)s, %(a{i})s, %(t{i})s, "
		f"%(p{i})s, %(d{i})s, %(c{i})s, %(voucher_type)s, %(voucher_no)s, %(is_reversal)s, %(r{i})s, "
		"%(remarks)s)"
		for i in range(count)
	]
	return f"insert into `tabTukTuk Ledger Entry` ({columns}) values {', '.join(rows)}"


def assert_balanced(lines: list[PostingLine], voucher_type: str = "", voucher_no: str = "") -> None:
	"""Raise :class:`UnbalancedVoucher` naming the voucher and the difference unless
	Σ debit = Σ credit (as ERPNext names the voucher type and number)."""
	debit_kes = sum(line.debit_kes for line in lines)
	credit_kes = sum(line.credit_kes for line in lines)
	if debit_kes != credit_kes:
		voucher = f"{voucher_type} {voucher_no}".strip() or "voucher"
		raise UnbalancedVoucher(
			f"{voucher} is not balanced: debit {debit_kes} KES, credit {credit_kes} KES, "
			f"difference {debit_kes - credit_kes} KES"
		)


def cache_deltas(lines: list[PostingLine]) -> dict[str, dict[str, int]]:
	"""Per driver, the change of each cached balance field (credit-normal) the lines imply."""
	deltas: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(accounts.CACHE_FIELD.values(), 0))
	for line in lines:
		if line.account in accounts.DRIVER_ACCOUNTS:
			deltas[line.party][accounts.CACHE_FIELD[line.account]] += line.credit_kes - line.debit_kes
	return dict(deltas)


def post_voucher(
	db: Database,
	*,
	voucher_type: str,
	voucher_no: str,
	lines: list[PostingLine],
	posting_datetime: datetime,
	locked: LockedDrivers,
	target_kes_by_driver: dict[str, int] | None = None,
	is_reversal: bool = False,
	remarks: str = "",
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> list[str]:
	"""Append a balanced voucher to the ledger and move the driver caches with it.

	lines: 1..LINES_PER_VOUCHER_MAX :class:`PostingLine`, Σ debit = Σ credit.
	locked: the rows of every driver named in ``lines``, locked by :func:`lock_drivers`.
	target_kes_by_driver: the effective target T per driver, to refresh ``left_to_target``
	(drivers missing from it keep their ``left_to_target``).
	on_step: test hook called with "ledger_lines_inserted" and "caches_updated".

	Returns the ledger entry names. Raises :class:`UnbalancedVoucher` or
	:class:`DriverNotLocked` before writing anything. Never commits.
	"""
	assert voucher_type and voucher_no
	assert 1 <= len(lines) <= LINES_PER_VOUCHER_MAX, f"{len(lines)} lines"
	assert_balanced(lines, voucher_type, voucher_no)
	deltas = cache_deltas(lines)
	for driver in deltas:
		if driver not in locked:
			raise DriverNotLocked(f"driver {driver!r} is not locked FOR UPDATE")
	step = on_step or (lambda _name: None)

	names = [new_name() for _ in lines]
	db.sql(
		_insert_ledger_lines(len(lines)),
		_line_values(names, lines, voucher_type, voucher_no, posting_datetime, is_reversal, remarks, user),
	)
	step("ledger_lines_inserted")
	_move_caches(db, deltas, locked, target_kes_by_driver or {})
	step("caches_updated")
	return names


def _line_values(
	names: list[str],
	lines: list[PostingLine],
	voucher_type: str,
	voucher_no: str,
	posting_datetime: datetime,
	is_reversal: bool,
	remarks: str,
	user: str,
) -> dict[str, Any]:
	"""The named parameters of :func:`_insert_ledger_lines` for ``lines``."""
	# Named parameters: the values every line shares (clock, user, voucher) are escaped once, not
	# once per line; idx and docstatus are constants of the cached statement.
	values: dict[str, Any] = {
		"at": sql_datetime(posting_datetime),
		"user": user,
		"voucher_type": voucher_type,
		"voucher_no": voucher_no,
		"is_reversal": 1 if is_reversal else 0,
		"remarks": remarks,
	}
	for index, (name, line) in enumerate(zip(names, lines, strict=True)):
		values[f"n{index}"] = name
		values[f"a{index}"] = line.account
		values[f"t{index}"] = accounts.DRIVER_DOCTYPE if line.party else None
		values[f"p{index}"] = line.party
		values[f"d{index}"] = line.debit_kes
		values[f"c{index}"] = line.credit_kes
		values[f"r{index}"] = line.reversal_of
	return values


def _move_caches(
	db: Database, deltas: dict[str, dict[str, int]], locked: LockedDrivers, targets: dict[str, int]
) -> None:
	"""Move each driver's cached balances (row and locked copy) by its deltas, in name order."""
	for driver in sorted(deltas):
		delta = deltas[driver]
		row = locked[driver]
		row.current_balance_kes += delta["current_balance"]
		row.current_deposit_balance_kes += delta["current_deposit_balance"]
		row.payout_pending_kes += delta["payout_pending"]
		# MariaDB evaluates SET left to right: left_to_target sees the new current_balance.
		if driver in targets:
			db.sql(
				"""update `tabTukTuk Driver` set
				current_balance = current_balance + %s,
				current_deposit_balance = current_deposit_balance + %s,
				payout_pending = payout_pending + %s,
				left_to_target = greatest(0, %s - current_balance)
				where name = %s""",
				(
					delta["current_balance"],
					delta["current_deposit_balance"],
					delta["payout_pending"],
					targets[driver],
					driver,
				),
			)
		else:
			db.sql(
				"""update `tabTukTuk Driver` set
				current_balance = current_balance + %s,
				current_deposit_balance = current_deposit_balance + %s,
				payout_pending = payout_pending + %s
				where name = %s""",
				(delta["current_balance"], delta["current_deposit_balance"], delta["payout_pending"], driver),
			)
