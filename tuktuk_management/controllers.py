"""Shared pieces of the DocType controllers (no money rule lives here)."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.model.document import Document

from tuktuk_management.ledger.schema import COMPOSITE_INDEXES, index_name


def refuse_manual_write(doc: Document, writer: str) -> None:
	"""Refuse an insert or save through the document API: ``writer`` alone writes these rows (SQL)."""
	frappe.throw(
		_("{0} records are written only by {1}; they cannot be created or edited by hand.").format(
			_(doc.doctype), writer
		),
		title=_("Not Allowed"),
		exc=frappe.PermissionError,
	)


def refuse_manual_delete(doc: Document, correction: str) -> None:
	"""Refuse deleting a row the books depend on; ``correction`` says what to do instead."""
	frappe.throw(
		_("{0} {1} cannot be deleted. {2}").format(_(doc.doctype), doc.name, correction),
		title=_("Not Allowed"),
		exc=frappe.PermissionError,
	)


class CoreWrittenDocument(Document):
	"""A DocType whose rows only the ledger core writes (SQL in the same transaction as the
	money): inserts, saves and deletes through the document API are refused.

	Subclasses set ``written_by`` (who writes the rows) and ``instead_of_delete`` (what to do
	instead), both untranslated; they are translated when shown.
	"""

	written_by = ""
	instead_of_delete = ""

	def validate(self):
		refuse_manual_write(self, _(self.written_by))

	def on_trash(self):
		refuse_manual_delete(self, _(self.instead_of_delete))


def add_composite_indexes(doctype: str) -> None:
	"""Add the composite indexes the core's queries rely on (``ledger.schema``), if missing."""
	for columns in COMPOSITE_INDEXES.get(doctype, []):
		frappe.db.add_index(doctype, list(columns), index_name(columns))
