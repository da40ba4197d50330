# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import os

import frappe
from frappe import _
from frappe.model.document import Document

from tuktuk_management import roles
from tuktuk_management.controllers import refuse_manual_delete

FILE_BYTES_MAX = 20 * 1024 * 1024


class TukTukStatementImport(Document):
	"""An uploaded M-Pesa statement export: on insert its lines are stored (each receipt once
	across imports) and its period is matched to the books (``api/statement.py``)."""

	def validate(self):
		self.validate_role()
		self.validate_file()

	def after_insert(self):
		self.import_lines()

	def on_trash(self):
		refuse_manual_delete(self, _("Statement imports are the record of what was matched and recovered."))

	def validate_role(self):
		frappe.only_for(roles.STATEMENT_RECONCILERS)

	def validate_file(self):
		if not self.is_new():
			return
		if not (self.statement_file or "").lower().endswith(".csv"):
			frappe.throw(
				_("Attach the statement as a CSV file (the portal's export)."), title=_("Not a CSV File")
			)

	def import_lines(self):
		from tuktuk_management.api.statement import import_file_content

		file_doc = frappe.get_doc("File", {"file_url": self.statement_file})
		if (file_doc.file_size or 0) > FILE_BYTES_MAX:
			frappe.throw(_("The statement file is larger than 20 MB; export a shorter period."))
		result = import_file_content(
			self.name, file_doc.get_content(), file_name=os.path.basename(file_doc.file_name or "")
		)
		self.reload()
		frappe.msgprint(
			_("{0} lines read: {1} new, {2} already stored by an earlier import.").format(
				result["lines_read"], result["lines_new"], result["lines_existing"]
			),
			indicator="green",
			alert=True,
		)
