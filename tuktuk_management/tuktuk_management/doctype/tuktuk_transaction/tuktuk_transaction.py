# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from frappe import _
from frappe.model.document import Document

from tuktuk_management.controllers import add_composite_indexes, refuse_manual_delete, refuse_manual_write


class TukTukTransaction(Document):
	"""One M-Pesa C2B payment (name = TransID), inserted by the ledger core with its voucher."""

	def validate(self):
		refuse_manual_write(self, _("the M-Pesa confirmation callback"))

	def on_trash(self):
		refuse_manual_delete(self, _("Its ledger postings stay; correct a mistake with a reversal."))


def on_doctype_update():
	add_composite_indexes("TukTuk Transaction")
