"""Pieces shared by the correction flows (credit notes, manual journals, allocation).

Each flow builds a list of :class:`~tuktuk_management.ledger.writer.PostingLine`, checks it
against the locked driver balances with :func:`refuse_negative_balances` and hands it to the one
writer. A reversal is built from the original lines by :func:`reversal_lines` (debit and credit
swapped, ``reversal_of`` set); the originals are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import LockedDrivers
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.split import effective_target_kes
from tuktuk_management.ledger.writer import PostingLine, cache_deltas

ACCOUNT_LABEL = {
	accounts.TARGET: "target (collected toward today's target)",
	accounts.DEPOSIT: "deposit",
	accounts.PAYABLE: "payable (share not yet paid out)",
}
CACHE_ACCOUNT = {field: account for account, field in accounts.CACHE_FIELD.items()}


class CorrectionRefused(ValueError):
	"""A correction that cannot be posted as asked; the message is meant for a manager.

	Raised before anything is written (or the caller's savepoint is rolled back), so refusing
	never leaves a partial posting.
	"""


class NotFound(CorrectionRefused):
	"""The document, driver or transaction a correction names does not exist."""


def driver_targets(locked: LockedDrivers, settings: LedgerSettings) -> dict[str, int]:
	"""Each locked driver's effective target T (KES), to refresh ``left_to_target`` on posting."""
	return {
		name: effective_target_kes(
			row.daily_target_kes, settings.global_daily_target_kes, row.target_rollover_kes
		)
		for name, row in locked.rows.items()
	}


def balance_kes(locked: LockedDrivers, driver: str, account: str) -> int:
	"""The locked cached balance of one driver account (whole KES)."""
	row = locked[driver]
	return {
		accounts.TARGET: row.current_balance_kes,
		accounts.DEPOSIT: row.current_deposit_balance_kes,
		accounts.PAYABLE: row.payout_pending_kes,
	}[account]


def refuse_negative_balances(
	lines: list[PostingLine], locked: LockedDrivers, overdraft_allowed: Iterable[tuple[str, str]] = ()
) -> None:
	"""Raise :class:`CorrectionRefused` if ``lines`` would take a driver balance below zero.

	overdraft_allowed: ``(driver, account)`` pairs that may go below zero. A balance that is
	already negative may still rise; it may not fall further without the flag.
	"""
	allowed = set(overdraft_allowed)
	for driver, deltas in sorted(cache_deltas(lines).items()):
		for field, delta_kes in sorted(deltas.items()):
			account = CACHE_ACCOUNT[field]
			after_kes = balance_kes(locked, driver, account) + delta_kes
			if delta_kes < 0 and after_kes < 0 and (driver, account) not in allowed:
				raise CorrectionRefused(
					f"Driver {driver}'s {ACCOUNT_LABEL[account]} balance is "
					f"{balance_kes(locked, driver, account)} KES; taking {-delta_kes} KES would leave "
					f"{after_kes} KES. Balances may not go below zero."
				)


def reversal_lines(db: Database, voucher_type: str, voucher_no: str) -> list[PostingLine]:
	"""The lines that undo a voucher: every original line with debit and credit swapped.

	The original lines are read ``FOR UPDATE`` (ERPNext's immutable-ledger cancel) and stay as
	they are. Raises :class:`CorrectionRefused` if the voucher has no lines or was already
	reversed.
	"""
	rows = db.sql(
		"""select name, account, party, debit, credit, is_reversal from `tabTukTuk Ledger Entry`
		where voucher_type = %s and voucher_no = %s order by creation, idx for update""",
		(voucher_type, voucher_no),
	)
	if any(row[5] for row in rows):
		raise CorrectionRefused(f"{voucher_type} {voucher_no} has already been reversed.")
	if not rows:
		raise CorrectionRefused(f"{voucher_type} {voucher_no} has no ledger lines to reverse.")
	return [
		PostingLine(
			account,
			debit_kes=to_kes(credit),
			credit_kes=to_kes(debit),
			party=party or None,
			reversal_of=name,
		)
		for name, account, party, debit, credit, _is_reversal in rows
	]


def parties(lines: Iterable[PostingLine]) -> list[str]:
	"""The drivers named by ``lines``, sorted (the lock order)."""
	return sorted({line.party for line in lines if line.party})
