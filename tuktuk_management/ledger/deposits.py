"""Deposits (DESIGN §8, issue 13): what a driver must hold, cash deposits and deductions.

A driver's deposit is the ``deposit`` ledger account (cached in ``current_deposit_balance``). It
grows by an M-Pesa repayment to the driver's Sunny ID (what is left after the shortfall,
``ledger/c2b.py``) or by a **TukTuk Deposit Entry** of kind Cash Deposit, and shrinks by a daily
close's shortfall deduction (if enabled), a deposit refund credit note, or a Deposit Entry of
kind Damage Charge / Other Deduction:

| kind | debit | credit |
|---|---|---|
| Cash Deposit | cash X | deposit X |
| Damage Charge, Other Deduction | deposit X (never below zero) | deductions X |

A Deposit Entry is posted on submit (voucher TukTuk Deposit Entry / its name) and reversed on
cancel (a reversal voucher: the original lines swapped, ``reversal_of`` set). Both are
idempotent per document: a second submit or cancel finds the voucher's lines and changes nothing.
Every function runs inside the caller's transaction under the driver's row lock and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tuktuk_management.ledger import accounts, doctypes
from tuktuk_management.ledger.database import Database, in_savepoint
from tuktuk_management.ledger.drivers import LockedDrivers, lock_drivers
from tuktuk_management.ledger.money import NotWholeShillings, to_kes
from tuktuk_management.ledger.postings import (
	CorrectionRefused,
	NotFound,
	refuse_negative_balances,
	reversal_lines,
)
from tuktuk_management.ledger.rows import insert_statement, new_name, standard_values
from tuktuk_management.ledger.writer import PostingLine, post_voucher

DEPOSIT_ENTRY_DOCTYPE = doctypes.DEPOSIT_ENTRY
SAVEPOINT = "tuktuk_deposit_entry"
REPORT_ROWS_MAX = 5_000
HISTORY_ROWS_MAX = 2_000


class DepositKind:
	"""TukTuk Deposit Entry ``kind``."""

	CASH_DEPOSIT = "Cash Deposit"
	DAMAGE_CHARGE = "Damage Charge"
	OTHER_DEDUCTION = "Other Deduction"
	ALL = (CASH_DEPOSIT, DAMAGE_CHARGE, OTHER_DEDUCTION)
	DEDUCTIONS = (DAMAGE_CHARGE, OTHER_DEDUCTION)


@dataclass(frozen=True)
class DepositEntry:
	"""A TukTuk Deposit Entry as the core reads it; ``amount_kes`` whole KES > 0."""

	name: str
	driver: str
	kind: str
	amount_kes: int
	reference: str = ""
	reason: str = ""

	@classmethod
	def from_fields(cls, name: str, values: dict) -> DepositEntry:
		"""From the document's fields; raises :class:`CorrectionRefused` with a manager-readable
		reason for a missing driver, an unknown kind, an amount that is not whole shillings > 0,
		a cash deposit without a reference or a deduction without a reason."""
		try:
			amount_kes = to_kes(values.get("amount_kes"))
		except NotWholeShillings as exc:
			raise CorrectionRefused("The amount must be whole shillings (M-Pesa moves no cents).") from exc
		entry = cls(
			name=name,
			driver=(values.get("driver") or "").strip(),
			kind=values.get("kind") or "",
			amount_kes=amount_kes,
			reference=(values.get("reference") or "").strip(),
			reason=(values.get("reason") or "").strip(),
		)
		entry.check()
		return entry

	def check(self) -> None:
		if not self.driver:
			raise CorrectionRefused("Choose the driver.")
		if self.kind not in DepositKind.ALL:
			raise CorrectionRefused(f"Kind must be one of {', '.join(DepositKind.ALL)}.")
		if self.amount_kes <= 0:
			raise CorrectionRefused("The amount must be more than 0 KES.")
		if self.kind == DepositKind.CASH_DEPOSIT and not self.reference:
			raise CorrectionRefused("Give the reference of the cash received (receipt or cash book number).")
		if self.kind in DepositKind.DEDUCTIONS and not self.reason:
			raise CorrectionRefused("Give the reason for the charge or deduction.")

	def lines(self) -> list[PostingLine]:
		"""The voucher: cash → deposit for a cash deposit, deposit → deductions otherwise."""
		if self.kind == DepositKind.CASH_DEPOSIT:
			return [
				PostingLine(accounts.CASH, debit_kes=self.amount_kes),
				PostingLine(accounts.DEPOSIT, credit_kes=self.amount_kes, party=self.driver),
			]
		return [
			PostingLine(accounts.DEPOSIT, debit_kes=self.amount_kes, party=self.driver),
			PostingLine(accounts.DEDUCTIONS, credit_kes=self.amount_kes),
		]

	@property
	def remarks(self) -> str:
		detail = f"ref {self.reference}" if self.kind == DepositKind.CASH_DEPOSIT else self.reason
		return f"{self.kind} {self.name}: {detail}"[:500]


@dataclass(frozen=True)
class DepositPosting:
	"""What a post or reverse did: ``replayed`` True if the voucher was already there (nothing
	written); ``deposit_kes_after`` the driver's deposit after it (whole KES)."""

	name: str
	entries: list[str]
	deposit_kes_after: int
	replayed: bool = False


def _lock_driver(db: Database, driver: str) -> LockedDrivers:
	locked = lock_drivers(db, [driver])
	if driver not in locked:
		raise NotFound(f"Driver {driver} does not exist.")
	return locked


def _voucher_lines(db: Database, name: str) -> list[tuple[int]]:
	"""``is_reversal`` of every ledger line of the entry's voucher (read under the driver lock)."""
	return db.sql(
		"""select is_reversal from `tabTukTuk Ledger Entry`
		where voucher_type = %s and voucher_no = %s for update""",
		(DEPOSIT_ENTRY_DOCTYPE, name),
	)


def plan_deposit_entry(db: Database, entry: DepositEntry) -> int:
	"""Check ``entry`` against the driver's locked deposit; the deposit after posting (KES).

	Locks the driver row. Raises :class:`CorrectionRefused` if a deduction would take the deposit
	below zero, :class:`NotFound` for an unknown driver. Writes nothing.
	"""
	entry.check()
	locked = _lock_driver(db, entry.driver)
	lines = entry.lines()
	refuse_negative_balances(lines, locked)
	held_kes = locked[entry.driver].current_deposit_balance_kes
	return held_kes + (entry.amount_kes if entry.kind == DepositKind.CASH_DEPOSIT else -entry.amount_kes)


def post_deposit_entry(
	db: Database, entry: DepositEntry, *, now: datetime, user: str = "Administrator", on_step=None
) -> DepositPosting:
	"""Post a submitted Deposit Entry (its row exists) and stamp ``posted_at``/``deposit_after_kes``.

	Idempotent: if the voucher already has lines, nothing is written (``replayed``). A deduction
	never takes the deposit below zero (:class:`CorrectionRefused`, nothing written). on_step: the
	writer's steps, then "document_updated".
	"""
	entry.check()
	step = on_step or (lambda _name: None)
	with in_savepoint(db, SAVEPOINT + "_post"):
		locked = _lock_driver(db, entry.driver)
		if _voucher_lines(db, entry.name):
			return DepositPosting(entry.name, [], locked[entry.driver].current_deposit_balance_kes, True)
		lines = entry.lines()
		refuse_negative_balances(lines, locked)
		names = post_voucher(
			db,
			voucher_type=DEPOSIT_ENTRY_DOCTYPE,
			voucher_no=entry.name,
			lines=lines,
			posting_datetime=now,
			locked=locked,
			remarks=entry.remarks,
			user=user,
			on_step=step,
		)
		after_kes = locked[entry.driver].current_deposit_balance_kes
		db.sql(
			f"update `tab{DEPOSIT_ENTRY_DOCTYPE}` set posted_at = %s, deposit_after_kes = %s where name = %s",
			(now, after_kes, entry.name),
		)
		step("document_updated")
	return DepositPosting(entry.name, names, after_kes)


def reverse_deposit_entry(
	db: Database, name: str, *, now: datetime, user: str = "Administrator", on_step=None
) -> DepositPosting:
	"""Append the reversal of a Deposit Entry's voucher (dated ``now``) and stamp ``cancelled_at``.

	Idempotent: an entry already reversed changes nothing (``replayed``). Refused (nothing
	written) if reversing a cash deposit would take the deposit below zero (the money has been
	used: deducted, settled or refunded since).
	"""
	step = on_step or (lambda _name: None)
	with in_savepoint(db, SAVEPOINT + "_reverse"):
		rows = db.sql(f"select driver from `tab{DEPOSIT_ENTRY_DOCTYPE}` where name = %s", (name,))
		if not rows:
			raise NotFound(f"Deposit entry {name} does not exist.")
		driver = rows[0][0]
		locked = _lock_driver(db, driver)
		existing = _voucher_lines(db, name)
		if not existing or any(is_reversal for (is_reversal,) in existing):
			return DepositPosting(name, [], locked[driver].current_deposit_balance_kes, True)
		lines = reversal_lines(db, DEPOSIT_ENTRY_DOCTYPE, name)
		refuse_negative_balances(lines, locked)
		names = post_voucher(
			db,
			voucher_type=DEPOSIT_ENTRY_DOCTYPE,
			voucher_no=name,
			lines=lines,
			posting_datetime=now,
			locked=locked,
			is_reversal=True,
			remarks=f"On cancellation of {name}",
			user=user,
			on_step=step,
		)
		db.sql(f"update `tab{DEPOSIT_ENTRY_DOCTYPE}` set cancelled_at = %s where name = %s", (now, name))
		step("document_updated")
	return DepositPosting(name, names, locked[driver].current_deposit_balance_kes)


_ENTRY_COLUMNS = ("driver", "kind", "amount_kes", "reference", "reason")
_INSERT_ENTRY = insert_statement(DEPOSIT_ENTRY_DOCTYPE, _ENTRY_COLUMNS)


def record_deposit_entry(
	db: Database,
	*,
	driver: str,
	kind: str,
	amount_kes: int,
	reference: str = "",
	reason: str = "",
	now: datetime,
	user: str,
) -> DepositPosting:
	"""The standalone runner's submit: insert a submitted (docstatus 1) Deposit Entry named
	``DEP-<random>`` and post it. Under Frappe the DocType's own submit does both."""
	entry = DepositEntry(f"DEP-{new_name()}", driver, kind, amount_kes, reference.strip(), reason.strip())
	entry.check()
	with in_savepoint(db, SAVEPOINT + "_record"):
		db.sql(
			_INSERT_ENTRY,
			(*standard_values(entry.name, now, user), *(getattr(entry, c) for c in _ENTRY_COLUMNS)),
		)
		db.sql(f"update `tab{DEPOSIT_ENTRY_DOCTYPE}` set docstatus = 1 where name = %s", (entry.name,))
		return post_deposit_entry(db, entry, now=now, user=user)


# -- The activation rule ---------------------------------------------------------------------------
def required_deposit_kes(driver_required: object, default_required_kes: int) -> int:
	"""The deposit a driver must hold: their own ``deposit_required`` if > 0, else the settings'
	``default_deposit_required_kes`` (0 = none). Whole KES."""
	own_kes = to_kes(driver_required or 0)
	return own_kes if own_kes > 0 else max(0, default_required_kes)


def activation_refusal(
	*, becoming_active: bool, held_kes: int, required_kes: int, override_reason: str | None
) -> str | None:
	"""Why a driver may not be set Active now, or None.

	Only a change to Active is checked (a driver already Active is not re-judged when another
	field changes). Refused while the deposit held is less than required, unless a manager gave
	``deposit_override_reason``.
	"""
	if not becoming_active or held_kes >= required_kes or (override_reason or "").strip():
		return None
	return (
		f"The driver holds a deposit of {held_kes} KES; {required_kes} KES is required to be Active "
		f"({required_kes - held_kes} KES short). Record the deposit first, or give a Deposit Override "
		"Reason."
	)


# -- The Deposit report ----------------------------------------------------------------------------
@dataclass(frozen=True)
class DepositStanding:
	driver: str
	driver_name: str
	status: str
	required_kes: int
	held_kes: int

	@property
	def shortfall_kes(self) -> int:
		return max(0, self.required_kes - self.held_kes)


def deposit_standings(
	db: Database, default_required_kes: int, *, only_short: bool = False
) -> list[DepositStanding]:
	"""Every driver's required and held deposit (at most REPORT_ROWS_MAX, by name), in one query;
	``only_short``: only drivers holding less than required."""
	rows = db.sql(
		f"""select name, driver_name, status, deposit_required, current_deposit_balance
		from `tabTukTuk Driver` order by name limit {REPORT_ROWS_MAX}"""
	)
	standings = [
		DepositStanding(
			name,
			driver_name or "",
			status or "",
			required_deposit_kes(required, default_required_kes),
			to_kes(held),
		)
		for name, driver_name, status, required, held in rows
	]
	return [s for s in standings if s.shortfall_kes > 0] if only_short else standings


def deposit_history(
	db: Database, driver: str, from_date: date | None = None, to_date: date | None = None
) -> list[dict]:
	"""The driver's ledger lines on the deposit account, oldest first (at most HISTORY_ROWS_MAX):
	``posting_datetime``, ``voucher_type``, ``voucher_no``, ``in_kes``, ``out_kes``,
	``balance_kes`` (running, from the first line ever), ``is_reversal``, ``remarks`` and, for a
	Deposit Entry, its ``kind``, ``reference`` and ``reason``. Dates filter the lines shown; the
	running balance always counts every earlier line."""
	rows = db.sql(
		f"""select le.posting_datetime, le.voucher_type, le.voucher_no, le.debit, le.credit,
			le.is_reversal, le.remarks, de.kind, de.reference, de.reason
		from `tabTukTuk Ledger Entry` le
		left join `tab{DEPOSIT_ENTRY_DOCTYPE}` de
			on le.voucher_type = %s and de.name = le.voucher_no
		where le.party = %s and le.account = %s and le.party_type = %s
		order by le.posting_datetime, le.creation, le.idx""",
		(DEPOSIT_ENTRY_DOCTYPE, driver, accounts.DEPOSIT, accounts.DRIVER_DOCTYPE),
	)
	history, balance_kes = [], 0
	for at, voucher_type, voucher_no, debit, credit, is_reversal, remarks, kind, reference, reason in rows:
		balance_kes += to_kes(credit) - to_kes(debit)
		day = at.date() if isinstance(at, datetime) else at
		if (from_date and day < from_date) or (to_date and day > to_date):
			continue
		history.append(
			{
				"posting_datetime": at,
				"voucher_type": voucher_type,
				"voucher_no": voucher_no,
				"in_kes": to_kes(credit),
				"out_kes": to_kes(debit),
				"balance_kes": balance_kes,
				"is_reversal": bool(is_reversal),
				"remarks": remarks or "",
				"kind": kind or "",
				"reference": reference or "",
				"reason": reason or "",
			}
		)
	return history[-HISTORY_ROWS_MAX:]
