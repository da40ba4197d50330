# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument, add_composite_indexes


class TukTukWithdrawalRequest(CoreWrittenDocument):
	"""A request to pay out part of a driver's payable (a driver's own request, a manager's Pay
	now, or the daily sweep), with its one payout once Approved (``ledger/owed/``). Written only by
	the core, through ``api/withdrawals.py``."""

	written_by = "the withdrawal, pay-now and sweep flows"
	instead_of_delete = (
		"Withdrawal requests are part of the driver's statement; reject a waiting one instead."
	)


def on_doctype_update():
	add_composite_indexes("TukTuk Withdrawal Request")
