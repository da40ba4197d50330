# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from frappe import _
from frappe.model.document import Document

from tuktuk_management.controllers import add_composite_indexes, refuse_manual_delete, refuse_manual_write


class TukTukPayout(Document):
	"""A B2C payout of a driver's share, queued by the ledger core with the payment."""

	def validate(self):
		refuse_manual_write(self, _("the payment and payout flows"))

	def on_trash(self):
		refuse_manual_delete(self, _("Payouts are part of the books; a failed one stays Failed."))


def on_doctype_update():
	add_composite_indexes("TukTuk Payout")
