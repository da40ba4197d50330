"""Ledger accounts (DESIGN §2) and the driver caches they maintain.

Driver accounts are credit-normal: their balance is Σ credit − Σ debit over the driver's lines,
and each is cached on ``tabTukTuk Driver``. Company accounts have no party.
"""

from __future__ import annotations

from tuktuk_management.ledger import doctypes

DRIVER_DOCTYPE = doctypes.DRIVER
TRANSACTION_DOCTYPE = doctypes.TRANSACTION
PAYOUT_DOCTYPE = doctypes.PAYOUT  # voucher of a Paid payout: payable -> b2c
CREDIT_NOTE_DOCTYPE = doctypes.CREDIT_NOTE
JOURNAL_DOCTYPE = doctypes.JOURNAL
DAILY_CLOSE_DOCTYPE = doctypes.DAILY_CLOSE
STATEMENT_LINE_DOCTYPE = doctypes.STATEMENT_LINE  # voucher of an M-Pesa fee: mpesa_charges -> paybill
DEPOSIT_ENTRY_DOCTYPE = doctypes.DEPOSIT_ENTRY  # cash deposit or deduction (ledger/deposits.py)
TERMINATION_DOCTYPE = doctypes.TERMINATION  # voucher of a leaving driver's deposit refund: deposit -> payable
# Documents a voucher may belong to (``voucher_type``); reconciliation checks each one exists.
VOUCHER_DOCTYPES = (
	TRANSACTION_DOCTYPE,
	DRIVER_DOCTYPE,
	CREDIT_NOTE_DOCTYPE,
	JOURNAL_DOCTYPE,
	DAILY_CLOSE_DOCTYPE,
	PAYOUT_DOCTYPE,
	STATEMENT_LINE_DOCTYPE,
	DEPOSIT_ENTRY_DOCTYPE,
	TERMINATION_DOCTYPE,
)

TARGET = "target"  # company share collected toward today's target -> current_balance
DEPOSIT = "deposit"  # driver's deposit held by the company -> current_deposit_balance
PAYABLE = "payable"  # driver share not yet paid out -> payout_pending

PAYBILL = "paybill"  # cash received on the paybill
B2C = "b2c"  # cash paid out by B2C
REVENUE = "revenue"  # closed target collections
SUSPENSE = "suspense"  # money received that could not be allocated
OPENING = "opening"  # counter-account of opening balances loaded with the fleet
MPESA_CHARGES = "mpesa_charges"  # fees M-Pesa took from the paybill (posted from its statement)
# Cash a manager took in by hand (a driver's deposit paid in cash, recorded with a reference by a
# TukTuk Deposit Entry); banked outside M-Pesa, so it is not the paybill.
CASH = "cash"
# Damage charges and other deductions taken from a driver's deposit (TukTuk Deposit Entry): kept
# apart from revenue (closed target collections) so the figures do not mix the two.
DEDUCTIONS = "deductions"

DRIVER_ACCOUNTS = (TARGET, DEPOSIT, PAYABLE)
COMPANY_ACCOUNTS = (PAYBILL, B2C, REVENUE, SUSPENSE, OPENING, MPESA_CHARGES, CASH, DEDUCTIONS)
ALL_ACCOUNTS = DRIVER_ACCOUNTS + COMPANY_ACCOUNTS

CACHE_FIELD = {
	TARGET: "current_balance",
	DEPOSIT: "current_deposit_balance",
	PAYABLE: "payout_pending",
}
