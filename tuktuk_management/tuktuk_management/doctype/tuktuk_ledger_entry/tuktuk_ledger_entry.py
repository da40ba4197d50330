# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from frappe import _
from frappe.model.document import Document

from tuktuk_management.controllers import add_composite_indexes, refuse_manual_delete, refuse_manual_write


class TukTukLedgerEntry(Document):
	"""One posting line of a balanced voucher: append-only, written by the ledger core's writer."""

	def validate(self):
		refuse_manual_write(self, _("the ledger's posting engine"))

	def on_trash(self):
		refuse_manual_delete(self, _("The ledger is append-only; correct a mistake with a reversal voucher."))


def on_doctype_update():
	add_composite_indexes("TukTuk Ledger Entry")
