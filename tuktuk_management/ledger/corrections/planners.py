"""One planner per correction type: check a credit note against the locked driver's balances and
return the :class:`~.note.Plan` it would post (nothing is written here).

Every planner takes ``(db, note, locked, settings)`` with the driver row already locked by the
caller; :func:`plan_locked` picks the planner for the note's type.
"""

from __future__ import annotations

from collections.abc import Callable

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.corrections.note import (
	BALANCE_ADJUSTMENT,
	DEPOSIT_REFUND,
	INCREASE,
	PAYMENT_REVERSAL,
	SETTLE_SHORTFALL,
	TARGET_WAIVER,
	CreditNote,
	Plan,
)
from tuktuk_management.ledger.corrections.payment_reversal import plan_payment_reversal
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import DriverRow, LockedDrivers
from tuktuk_management.ledger.postings import CorrectionRefused, refuse_negative_balances
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.split import effective_target_kes
from tuktuk_management.ledger.writer import PostingLine

Planner = Callable[[Database, CreditNote, LockedDrivers, LedgerSettings], Plan]


def _owed_kes(row: DriverRow, settings: LedgerSettings) -> tuple[int, int]:
	"""``(effective target T, what the driver still owes toward it today)`` in KES."""
	target_kes = effective_target_kes(
		row.daily_target_kes, settings.global_daily_target_kes, row.target_rollover_kes
	)
	return target_kes, max(0, target_kes - row.current_balance_kes)


def plan_target_waiver(
	db: Database, note: CreditNote, locked: LockedDrivers, settings: LedgerSettings
) -> Plan:
	"""revenue → target, at most what the driver still owes toward today's target."""
	driver, amount_kes = note.driver, note.amount_kes
	target_kes, owed_kes = _owed_kes(locked[driver], settings)
	if amount_kes > owed_kes:
		raise CorrectionRefused(
			f"Driver {driver} owes {owed_kes} KES toward today's target ({target_kes} KES); "
			f"a waiver of {amount_kes} KES is more than that."
		)
	lines = [
		PostingLine(accounts.REVENUE, debit_kes=amount_kes),
		PostingLine(accounts.TARGET, credit_kes=amount_kes, party=driver),
	]
	return Plan(lines, target_kes=amount_kes)


def plan_deposit_refund(
	db: Database, note: CreditNote, locked: LockedDrivers, settings: LedgerSettings
) -> Plan:
	"""deposit → payable (a payout is queued) or deposit → target (settle today's shortfall)."""
	driver, amount_kes = note.driver, note.amount_kes
	row = locked[driver]
	if amount_kes > row.current_deposit_balance_kes:
		raise CorrectionRefused(
			f"Driver {driver}'s deposit is {row.current_deposit_balance_kes} KES; "
			f"a refund of {amount_kes} KES is more than that."
		)
	if note.refund_mode == SETTLE_SHORTFALL:
		_target_kes, owed_kes = _owed_kes(row, settings)
		if amount_kes > owed_kes:
			raise CorrectionRefused(
				f"Driver {driver} owes {owed_kes} KES toward today's target; settling {amount_kes} KES "
				"from the deposit is more than that."
			)
		lines = [
			PostingLine(accounts.DEPOSIT, debit_kes=amount_kes, party=driver),
			PostingLine(accounts.TARGET, credit_kes=amount_kes, party=driver),
		]
		return Plan(lines, target_kes=amount_kes, deposit_kes=-amount_kes)
	lines = [
		PostingLine(accounts.DEPOSIT, debit_kes=amount_kes, party=driver),
		PostingLine(accounts.PAYABLE, credit_kes=amount_kes, party=driver),
	]
	return Plan(lines, deposit_kes=-amount_kes, payable_kes=amount_kes, payout_kes=amount_kes)


def plan_balance_adjustment(
	db: Database, note: CreditNote, locked: LockedDrivers, settings: LedgerSettings
) -> Plan:
	"""company account ↔ driver account, either way; never below zero."""
	driver, amount_kes, account = note.driver, note.amount_kes, note.driver_account
	if note.direction == INCREASE:
		lines = [
			PostingLine(note.counter_account, debit_kes=amount_kes),
			PostingLine(account, credit_kes=amount_kes, party=driver),
		]
		signed_kes = amount_kes
	else:
		lines = [
			PostingLine(account, debit_kes=amount_kes, party=driver),
			PostingLine(note.counter_account, credit_kes=amount_kes),
		]
		signed_kes = -amount_kes
	refuse_negative_balances(lines, locked)
	return Plan(
		lines,
		target_kes=signed_kes if account == accounts.TARGET else 0,
		deposit_kes=signed_kes if account == accounts.DEPOSIT else 0,
		payable_kes=signed_kes if account == accounts.PAYABLE else 0,
	)


def _plan_payment_reversal(
	db: Database, note: CreditNote, locked: LockedDrivers, settings: LedgerSettings
) -> Plan:
	return plan_payment_reversal(db, note, locked)


PLANNERS: dict[str, Planner] = {
	TARGET_WAIVER: plan_target_waiver,
	DEPOSIT_REFUND: plan_deposit_refund,
	BALANCE_ADJUSTMENT: plan_balance_adjustment,
	PAYMENT_REVERSAL: _plan_payment_reversal,
}


def plan_locked(db: Database, note: CreditNote, locked: LockedDrivers, settings: LedgerSettings) -> Plan:
	"""The plan of ``note`` (fields already checked, driver row in ``locked``); raises
	:class:`CorrectionRefused` with a manager-readable reason."""
	return PLANNERS[note.correction_type](db, note, locked, settings)
