"""Add the ``(driver, status)`` index of TukTuk Payout on sites installed before it: what of a
driver's payable is free for Pay now, withdrawals and the sweep is a locking read of the driver's
open payouts (``ledger/owed/available.py``), which then locks those rows only, not every payout the
driver ever had. (TukTuk Withdrawal Request is new: its indexes come with the DocType.)"""

from tuktuk_management.controllers import add_composite_indexes


def execute():
	add_composite_indexes("TukTuk Payout")
