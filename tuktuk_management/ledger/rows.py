"""Building INSERT statements for the app's tables with Frappe's standard columns."""

from __future__ import annotations

from datetime import datetime

STANDARD_COLUMNS = ("name", "creation", "modified", "modified_by", "owner", "docstatus", "idx")


def insert_statement(doctype: str, columns: tuple[str, ...], rows: int = 1) -> str:
	"""``insert into `tab<doctype>` (standard columns + columns) values (...)`` for ``rows`` rows."""
	assert 1 <= rows
	all_columns = STANDARD_COLUMNS + columns
	row = "(" + ", ".join(["%s"] * len(all_columns)) + ")"
	return "insert into `tab{}` ({}) values {}".format(
		doctype, ", ".join(f"`{column}`" for column in all_columns), ", ".join([row] * rows)
	)


def standard_values(name: str, now: datetime, user: str, idx: int = 0) -> tuple:
	"""Values of the standard columns for a new, draft (docstatus 0) row."""
	return (name, now, now, user, user, 0, idx)
