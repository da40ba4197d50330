# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument, add_composite_indexes


class TukTukTransaction(CoreWrittenDocument):
	"""One M-Pesa C2B payment (name = TransID), inserted by the ledger core with its voucher."""

	written_by = "the M-Pesa confirmation callback"
	instead_of_delete = "Its ledger postings stay; correct a mistake with a reversal."


def on_doctype_update():
	add_composite_indexes("TukTuk Transaction")
