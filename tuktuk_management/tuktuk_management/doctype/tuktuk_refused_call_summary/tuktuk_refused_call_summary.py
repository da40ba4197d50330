# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from frappe import _
from frappe.model.document import Document

from tuktuk_management.controllers import add_composite_indexes, refuse_manual_write


class TukTukRefusedCallSummary(Document):
	"""Refused callback calls of one source address in one minute, counted by the callback guard
	(``ledger.callback_guard.record_refusal``). Written only by SQL; old rows may be deleted."""

	def validate(self):
		refuse_manual_write(self, _("the callback endpoints"))


def on_doctype_update():
	add_composite_indexes("TukTuk Refused Call Summary")
