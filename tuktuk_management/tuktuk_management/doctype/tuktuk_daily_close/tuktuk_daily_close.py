# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument


class TukTukDailyClose(CoreWrittenDocument):
	"""One driver's close of one business date (named `<driver>-<YYYY-MM-DD>`, so unique),
	written by the daily close in the same transaction as its ledger voucher."""

	written_by = "the daily close"
	instead_of_delete = "A close is part of the books; correct a mistake with a journal."
