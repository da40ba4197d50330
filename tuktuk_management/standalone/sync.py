"""The model sync of ``bench migrate`` for the standalone runner and the tests: bring existing
tables up to the app's DocType JSON without dropping anything.

Creates missing tables, adds missing columns (Frappe v15 column types) and the unique and
search indexes of new fields, as Frappe's schema sync does; columns the DocTypes no longer have
stay, with their values. Raises if a unique index meets duplicate values (MariaDB error 1062),
as ``bench migrate`` does.
"""

from __future__ import annotations

from tuktuk_management.standalone.schema import (
	NO_COLUMN_TYPES,
	column_definition,
	create_table_sql,
	load_doctypes,
)


def sync_schema(db, doctypes: list[dict] | None = None) -> dict[str, int]:
	"""Sync every non-single DocType's table; ``{"tables": created, "columns": added, "indexes": added}``."""
	counts = {"tables": 0, "columns": 0, "indexes": 0}
	for doctype in load_doctypes() if doctypes is None else doctypes:
		if doctype.get("issingle"):
			continue
		table = f"tab{doctype['name']}"
		columns = {
			row[0]
			for row in db.sql(
				"select column_name from information_schema.columns where table_schema = database() "
				"and table_name = %s",
				(table,),
			)
		}
		if not columns:
			db.sql(create_table_sql(doctype))
			counts["tables"] += 1
			continue
		indexed = {
			row[0]
			for row in db.sql(
				"select column_name from information_schema.statistics where table_schema = database() "
				"and table_name = %s and seq_in_index = 1",
				(table,),
			)
		}
		for field in doctype["fields"]:
			fieldname = field["fieldname"]
			if field["fieldtype"] in NO_COLUMN_TYPES:
				continue
			if fieldname not in columns:
				db.sql(f"alter table `{table}` add column {column_definition(field)}")
				counts["columns"] += 1
			if fieldname not in indexed and (field.get("unique") or field.get("search_index")):
				kind = "unique key" if field.get("unique") else "key"
				db.sql(f"alter table `{table}` add {kind} `{fieldname}` (`{fieldname}`)")
				counts["indexes"] += 1
	return counts
