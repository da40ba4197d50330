"""Building INSERT statements for the app's tables with Frappe's standard columns."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import lru_cache

STANDARD_COLUMNS = ("name", "creation", "modified", "modified_by", "owner", "docstatus", "idx")


def new_name() -> str:
	"""A 10-character random document name, like Frappe's ``autoname: hash``."""
	return secrets.token_hex(5)


@lru_cache(maxsize=256)
def insert_statement(doctype: str, columns: tuple[str, ...], rows: int = 1) -> str:
	"""``insert into `tab<doctype>` (standard columns + columns) values (...)`` for ``rows`` rows.

	Cached: the hot path asks for the same few statements on every payment.
	"""
	assert 1 <= rows
	all_columns = STANDARD_COLUMNS + columns
	row = "(" + ", ".join(["%s"] * len(all_columns)) + ")"
	return "insert into `tab{}` ({}) values {}".format(
		doctype, ", ".join(f"`{column}`" for column in all_columns), ", ".join([row] * rows)
	)


def sql_datetime(value: datetime | str) -> datetime | str:
	"""A naive datetime as MariaDB's ``YYYY-MM-DD HH:MM:SS[.ffffff]`` text, formatted once.

	The drivers would format the same text for every placeholder; a payment sends its clock a
	dozen times, so the core formats it once. Other values (aware datetimes, text) pass through.
	"""
	if isinstance(value, datetime) and value.tzinfo is None:
		return value.isoformat(" ")
	return value


def standard_values(name: str, now: datetime | str, user: str, idx: int = 0) -> tuple:
	"""Values of the standard columns for a new, draft (docstatus 0) row."""
	when = sql_datetime(now)
	return (name, when, when, user, user, 0, idx)
