# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument


class TukTukStatementLine(CoreWrittenDocument):
	"""One line of an M-Pesa statement, stored once per receipt by the statement import and
	matched to the books by the statement matching (``ledger/mpesa_statement``)."""

	written_by = "the statement import"
	instead_of_delete = "Statement lines are the external record the books are matched against."
