# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument


class TukTukPaybillBalanceCheck(CoreWrittenDocument):
	"""One Daraja Account Balance query and its comparison with the books, written by the
	balance check (``ledger/mpesa_statement/balance.py``)."""

	written_by = "the paybill balance check"
	instead_of_delete = "Balance checks are the record of the books against M-Pesa."
