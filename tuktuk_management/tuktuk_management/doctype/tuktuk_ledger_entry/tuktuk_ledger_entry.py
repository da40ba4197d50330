# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument, add_composite_indexes


class TukTukLedgerEntry(CoreWrittenDocument):
	"""One posting line of a balanced voucher: append-only, written by the ledger core's writer."""

	written_by = "the ledger's posting engine"
	instead_of_delete = "The ledger is append-only; correct a mistake with a reversal voucher."


def on_doctype_update():
	add_composite_indexes("TukTuk Ledger Entry")
