"""Paying out what a driver is owed (issue 13): withdrawal requests, "Pay now" and the sweep.

- :mod:`.settings`: the "Deposits and Payouts" section of TukTuk Settings;
- :mod:`.words`: the status and source words of TukTuk Withdrawal Request;
- :mod:`.available`: what of a driver's payable may still be paid (locking reads);
- :mod:`.withdrawals`: request, approve, reject, pay now (one payout each, never twice);
- :mod:`.sweep`: the daily sweep while instant payouts are off;
- :mod:`.statement`: requests and payouts as information lines on the driver's statement.

Payouts are queued with ``ledger.payouts.state.queue_payout`` in the caller's transaction and sent
after commit by the existing payout job; nothing here calls Daraja or commits (except the sweep's
per-driver units of work, which take ``commit`` from the caller).
"""

from __future__ import annotations

from tuktuk_management.ledger.owed.available import available_kes, open_payouts_kes, waiting_requests_kes
from tuktuk_management.ledger.owed.settings import MoneySettings, load_money_settings
from tuktuk_management.ledger.owed.sweep import SweepRun, due_sweep_date, run_sweep, sweep_name
from tuktuk_management.ledger.owed.withdrawals import (
	RequestOutcome,
	WithdrawalRefused,
	approve_withdrawal,
	check_driver_limits,
	pay_now,
	reject_withdrawal,
	request_withdrawal,
)
from tuktuk_management.ledger.owed.words import AUTOMATIC, WithdrawalSource, WithdrawalStatus

__all__ = [
	"AUTOMATIC",
	"MoneySettings",
	"RequestOutcome",
	"SweepRun",
	"WithdrawalRefused",
	"WithdrawalSource",
	"WithdrawalStatus",
	"approve_withdrawal",
	"available_kes",
	"check_driver_limits",
	"due_sweep_date",
	"load_money_settings",
	"open_payouts_kes",
	"pay_now",
	"reject_withdrawal",
	"request_withdrawal",
	"run_sweep",
	"sweep_name",
	"waiting_requests_kes",
]
