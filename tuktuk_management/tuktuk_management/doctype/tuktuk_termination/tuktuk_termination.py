# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument


class TukTukTermination(CoreWrittenDocument):
	"""One termination of a driver (``ledger/termination.py``): the final close, the deposit refund
	voucher and the final payout, written in the same unit of work as the driver's new status."""

	written_by = "the driver's termination"
	instead_of_delete = "A termination is part of the books; reinstate the driver instead."
