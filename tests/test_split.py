"""The split rule (DESIGN §3) as a pure function: examples and hypothesis properties."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuktuk_management.ledger.split import (
	effective_fare_percentage,
	effective_target_kes,
	split_payment,
	split_repayment,
)

amounts = st.integers(min_value=1, max_value=250_000)
targets = st.integers(min_value=0, max_value=100_000)
balances = st.integers(min_value=0, max_value=100_000)
percentages = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
	("amount", "target", "percent", "balance", "contribution", "share"),
	[
		(100, 3000, 50, 0, 50, 50),  # plain half split
		(5, 3000, 50, 0, 2, 3),  # driver share rounds half up: round(2.5) = 3
		(7, 3000, 50, 0, 3, 4),  # 3.5 -> 4
		(1, 3000, 50, 0, 0, 1),  # 0.5 -> 1: the driver gets the shilling
		(100, 3000, 40, 0, 60, 40),  # driver percentage 40
		(1000, 3000, 50, 2800, 200, 800),  # crosses the target: company takes only what is needed
		(1000, 3000, 50, 3000, 0, 1000),  # target met: all to the driver
		(1000, 3000, 50, 3500, 0, 1000),  # above target (opening balance): all to the driver
		(100, 0, 50, 0, 0, 100),  # zero target
		(100, 3000, 0, 0, 100, 0),  # 0 % driver share: all to the target
		(100, 3000, 100, 0, 0, 100),
	],
)
def test_split_examples(amount, target, percent, balance, contribution, share):
	split = split_payment(amount, target, Decimal(percent), balance)
	assert (split.target_contribution_kes, split.driver_share_kes) == (contribution, share)
	assert split.balance_kes_after == balance + contribution


@given(amount=amounts, target=targets, percent=percentages, balance=balances)
def test_share_plus_contribution_is_amount(amount, target, percent, balance):
	split = split_payment(amount, target, percent, balance)
	assert split.target_contribution_kes + split.driver_share_kes == amount
	assert split.target_contribution_kes >= 0 and split.driver_share_kes >= 0
	assert split.deposit_contribution_kes == 0


@given(amount=amounts, target=targets, percent=percentages, balance=balances)
def test_balance_never_passes_target_through_a_payment(amount, target, percent, balance):
	split = split_payment(amount, target, percent, balance)
	assert split.balance_kes_after <= max(balance, target)
	assert split.balance_kes_after >= balance


@given(
	payments=st.lists(amounts, min_size=1, max_size=8),
	target=targets,
	percent=percentages,
	opening=st.integers(min_value=0, max_value=5_000),
	data=st.data(),
)
def test_final_balance_is_order_independent(payments, target, percent, opening, data):
	"""For payments alone, B_final = max(B0, min(T, B0 + Σ company portions)) in any order."""
	order = data.draw(st.permutations(payments))
	balance = opening
	for amount in order:
		balance = split_payment(amount, target, percent, balance).balance_kes_after
	portions = sum(split_payment(amount, 10**12, percent, 0).target_contribution_kes for amount in payments)
	assert balance == max(opening, min(target, opening + portions))


def test_all_orders_of_a_crossing_sequence_agree():
	payments = [700, 1300, 50, 2500, 999]
	finals = set()
	for order in itertools.permutations(payments):
		balance = 0
		for amount in order:
			balance = split_payment(amount, 3000, Decimal(50), balance).balance_kes_after
		finals.add(balance)
	company_portions = sum(a - (a + 1) // 2 for a in payments)  # driver's half rounds up
	assert finals == {min(3000, company_portions)}


@given(amount=amounts, target=targets, balance=balances)
def test_repayment_clears_shortfall_first_rest_to_deposit(amount, target, balance):
	split = split_repayment(amount, target, balance)
	shortfall = max(0, target - balance)
	assert split.target_contribution_kes == min(amount, shortfall)
	assert split.deposit_contribution_kes == amount - min(amount, shortfall)
	assert split.driver_share_kes == 0
	assert split.target_contribution_kes + split.deposit_contribution_kes == amount


def test_effective_values():
	assert effective_target_kes(0, 3000) == 3000
	assert effective_target_kes(2000, 3000) == 2000
	assert effective_target_kes(2000, 3000, rollover_kes=500) == 2500
	assert effective_fare_percentage(Decimal(0), Decimal(50)) == 50
	assert effective_fare_percentage(Decimal(40), Decimal(50)) == 40
	assert effective_fare_percentage(Decimal(0), Decimal(0)) == 50


def test_split_refuses_bad_inputs():
	with pytest.raises(AssertionError):
		split_payment(0, 3000, Decimal(50), 0)
	with pytest.raises(AssertionError):
		split_payment(100, 3000, Decimal(101), 0)
