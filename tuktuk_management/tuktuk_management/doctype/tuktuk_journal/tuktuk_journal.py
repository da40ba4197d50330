# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument


class TukTukJournal(CoreWrittenDocument):
	"""A posted manual journal (idempotency key unique), written by the ledger core with its voucher."""

	written_by = "the manual journal API (tuktuk_management.api.journal.post_journal)"
	instead_of_delete = "Its ledger postings stay; revert it with revert_journal instead."
