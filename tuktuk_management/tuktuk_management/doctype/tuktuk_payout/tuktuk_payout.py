# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument, add_composite_indexes


class TukTukPayout(CoreWrittenDocument):
	"""A B2C payout of a driver's share, queued by the ledger core with the payment."""

	written_by = "the payment and payout flows"
	instead_of_delete = "Payouts are part of the books; a failed one stays Failed."


def on_doctype_update():
	add_composite_indexes("TukTuk Payout")
