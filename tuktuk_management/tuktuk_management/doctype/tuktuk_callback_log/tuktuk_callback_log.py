# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from frappe import _
from frappe.model.document import Document

from tuktuk_management.controllers import add_composite_indexes, refuse_manual_delete, refuse_manual_write


class TukTukCallbackLog(Document):
	"""A callback body exactly as received, stored before processing, then marked with its outcome."""

	def validate(self):
		refuse_manual_write(self, _("the M-Pesa callback endpoints"))

	def on_trash(self):
		refuse_manual_delete(self, _("Callback logs are the raw record of what M-Pesa sent."))


def on_doctype_update():
	add_composite_indexes("TukTuk Callback Log")
