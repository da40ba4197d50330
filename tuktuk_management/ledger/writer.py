"""The one writer of ledger rows (DESIGN §2): balanced vouchers, append-only, caches in step.

Every posting goes through :func:`post_voucher`. It refuses an unbalanced or malformed voucher,
inserts its lines in one statement and moves the driver caches with relative SQL in the same
transaction. The caller must already hold the driver rows ``FOR UPDATE`` (see
:func:`lock_drivers`), so a cache and the lines that justify it can never be seen apart.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes, to_percent
from tuktuk_management.ledger.rows import STANDARD_COLUMNS, sql_datetime

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

DRIVER_LOCK_COLUMNS = (
	"name",
	"status",
	"assigned_tuktuk",
	"daily_target",
	"fare_percentage",
	"current_balance",
	"current_deposit_balance",
	"payout_pending",
	"target_rollover",
)


class UnbalancedVoucher(AssertionError):
	"""A voucher whose debits and credits differ; always a bug in the caller."""


class DriverNotLocked(AssertionError):
	"""A posting to a driver whose row the caller has not locked ``FOR UPDATE``."""


def new_name() -> str:
	"""A 10-character random document name, like Frappe's ``autoname: hash``."""
	return secrets.token_hex(5)


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


@dataclass
class DriverRow:
	"""A driver row read under ``SELECT ... FOR UPDATE``; balances in whole KES."""

	name: str
	status: str
	assigned_tuktuk: str | None
	daily_target_kes: int
	fare_percentage: Any
	current_balance_kes: int
	current_deposit_balance_kes: int
	payout_pending_kes: int
	target_rollover_kes: int = 0  # shortfall carried into today (daily close); T = base + this


@dataclass
class LockedDrivers:
	"""Proof that the listed driver rows are locked ``FOR UPDATE`` in the current transaction."""

	rows: dict[str, DriverRow] = field(default_factory=dict)

	def __contains__(self, name: object) -> bool:
		return name in self.rows

	def __getitem__(self, name: str) -> DriverRow:
		return self.rows[name]


def lock_drivers(db: Database, names: Iterable[str]) -> LockedDrivers:
	"""Lock driver rows ``FOR UPDATE`` in sorted name order (one stable order: no lock cycles).

	Returns the locked rows; names that do not exist are absent from the result.
	"""
	ordered = sorted(set(names))
	assert ordered, "nothing to lock"
	placeholders = ", ".join(["%s"] * len(ordered))
	rows = db.sql(
		f"select {', '.join(DRIVER_LOCK_COLUMNS)} from `tabTukTuk Driver` "
		f"where name in ({placeholders}) order by name for update",
		tuple(ordered),
	)
	locked = LockedDrivers()
	for values in rows:
		row = driver_row(values)
		locked.rows[row.name] = row
	return locked


def driver_row(values: Sequence[Any]) -> DriverRow:
	"""A :class:`DriverRow` from one row of ``DRIVER_LOCK_COLUMNS`` values, in that order.

	Shared by :func:`lock_drivers` and the C2B core's unlocked look-up (which plans a payment
	before taking the lock), so both read the same columns the same way.
	"""
	name, status, assigned_tuktuk, daily_target, fare_percentage, balance, deposit, pending, rollover = values
	return DriverRow(
		name=name,
		status=status or "",
		assigned_tuktuk=assigned_tuktuk or None,
		daily_target_kes=to_kes(daily_target),
		fare_percentage=to_percent(fare_percentage),
		current_balance_kes=to_kes(balance),
		current_deposit_balance_kes=to_kes(deposit),
		payout_pending_kes=to_kes(pending),
		target_rollover_kes=to_kes(rollover),
	)


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


def assert_balanced(lines: list[PostingLine]) -> None:
	"""Raise :class:`UnbalancedVoucher` naming the difference unless Σ debit = Σ credit."""
	debit_kes = sum(line.debit_kes for line in lines)
	credit_kes = sum(line.credit_kes for line in lines)
	if debit_kes != credit_kes:
		raise UnbalancedVoucher(
			f"voucher is not balanced: debit {debit_kes} KES, credit {credit_kes} KES, "
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
	assert_balanced(lines)
	deltas = cache_deltas(lines)
	for driver in deltas:
		if driver not in locked:
			raise DriverNotLocked(f"driver {driver!r} is not locked FOR UPDATE")
	step = on_step or (lambda _name: None)

	names = [new_name() for _ in lines]
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
	db.sql(_insert_ledger_lines(len(lines)), values)
	step("ledger_lines_inserted")

	targets = target_kes_by_driver or {}
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
	step("caches_updated")
	return names
