"""Upgrade from the original app, before the model sync: stop on blockers, rename ``Tuktuk
Manager`` to ``TukTuk Manager``, drop Custom Field records this app's DocTypes now define.

Does nothing on a site that never ran the original app (see :mod:`tuktuk_management.legacy`).
"""

import frappe

from tuktuk_management.legacy import apply, mapping


def execute():
	counts = apply.before_model_sync(frappe.db, role_link_columns=role_link_columns())
	if counts:
		print(f"TukTuk upgrade from the original app, before the model sync: {counts}")


def role_link_columns() -> tuple[tuple[str, str], ...]:
	"""Every ``(DocType, column)`` that links to Role, standard or custom, plus the core ones."""
	links = set(mapping.ROLE_LINK_COLUMNS)
	for (
		doctype,
		fieldname,
	) in frappe.db.sql(  # nosemgrep: frappe-using-db-sql -- every Link-to-Role column, before the model sync
		"""select parent, fieldname from `tabDocField` where fieldtype = 'Link' and options = 'Role'
		union select dt, fieldname from `tabCustom Field` where fieldtype = 'Link' and options = 'Role'"""
	):
		links.add((doctype, fieldname))
	return tuple(sorted(links))
