"""The C2B split rules of DESIGN §3 as pure functions of their inputs (no database, no clock)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tuktuk_management.ledger.money import round_half_up_kes

DEFAULT_FARE_PERCENTAGE = Decimal(50)


@dataclass(frozen=True)
class Split:
	"""How one payment of ``amount_kes`` is divided.

	``target_contribution_kes`` goes to the driver's target account (company share toward today's
	target), ``driver_share_kes`` to the driver's payable (paid out by B2C),
	``deposit_contribution_kes`` to the driver's deposit (repayments only).
	``balance_kes_after`` is the driver's ``current_balance`` after the payment.
	"""

	amount_kes: int
	target_contribution_kes: int
	driver_share_kes: int
	deposit_contribution_kes: int
	balance_kes_after: int

	def __post_init__(self) -> None:
		parts = self.target_contribution_kes + self.driver_share_kes + self.deposit_contribution_kes
		assert parts == self.amount_kes, f"split parts {parts} != amount {self.amount_kes}"
		assert min(self.target_contribution_kes, self.driver_share_kes, self.deposit_contribution_kes) >= 0


def effective_target_kes(daily_target_kes: int, global_daily_target_kes: int, rollover_kes: int = 0) -> int:
	"""T: the driver's ``daily_target`` if > 0, else the settings' ``global_daily_target``, plus rollover."""
	base_kes = daily_target_kes if daily_target_kes > 0 else global_daily_target_kes
	return max(0, base_kes) + max(0, rollover_kes)


def effective_fare_percentage(fare_percentage: Decimal, global_fare_percentage: Decimal) -> Decimal:
	"""p: the driver's ``fare_percentage`` if > 0, else ``global_fare_percentage`` (default 50)."""
	if fare_percentage > 0:
		return fare_percentage
	if global_fare_percentage > 0:
		return global_fare_percentage
	return DEFAULT_FARE_PERCENTAGE


def split_payment(amount_kes: int, target_kes: int, fare_percentage: Decimal, balance_kes: int) -> Split:
	"""Split a vehicle payment between the driver's share and the company's target.

	amount_kes: A, whole KES > 0. target_kes: T, whole KES >= 0. fare_percentage: p in [0, 100],
	the driver's share. balance_kes: B, the locked ``current_balance``.

	If B >= T the driver gets everything. Otherwise the company's portion is
	``A - round_half_up(A * p / 100)``, capped at what is left to reach T, so a payment that
	crosses the target is split at the target.
	"""
	assert amount_kes > 0, amount_kes
	assert target_kes >= 0, target_kes
	assert Decimal(0) <= fare_percentage <= Decimal(100), fare_percentage
	if balance_kes >= target_kes:
		contribution_kes = 0
	else:
		company_portion_kes = amount_kes - round_half_up_kes(Decimal(amount_kes) * fare_percentage / 100)
		contribution_kes = min(company_portion_kes, target_kes - balance_kes)
	return Split(
		amount_kes=amount_kes,
		target_contribution_kes=contribution_kes,
		driver_share_kes=amount_kes - contribution_kes,
		deposit_contribution_kes=0,
		balance_kes_after=balance_kes + contribution_kes,
	)


def split_repayment(amount_kes: int, target_kes: int, balance_kes: int) -> Split:
	"""Split a repayment (paid to the driver's Sunny ID): shortfall first, the rest to the deposit.

	``reduction = min(A, max(0, T - B))``; no driver share, nothing paid out.
	"""
	assert amount_kes > 0, amount_kes
	reduction_kes = min(amount_kes, max(0, target_kes - balance_kes))
	return Split(
		amount_kes=amount_kes,
		target_contribution_kes=reduction_kes,
		driver_share_kes=0,
		deposit_contribution_kes=amount_kes - reduction_kes,
		balance_kes_after=balance_kes + reduction_kes,
	)


def left_to_target_kes(target_kes: int, balance_kes: int) -> int:
	return max(0, target_kes - balance_kes)
