"""Tables built from the app's DocType JSON files, as Frappe v15 builds them on MariaDB.

Column types follow Frappe v15's MariaDB type map; every table has Frappe's standard columns;
``unique``/``search_index`` fields get their indexes and the composite indexes of
:mod:`tuktuk_management.ledger.schema` are added. Single DocTypes live in ``tabSingles``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tuktuk_management.ledger.schema import COMPOSITE_INDEXES, index_name

DOCTYPE_ROOT = Path(__file__).resolve().parent.parent / "tuktuk_management" / "doctype"
VARCHAR_LEN = 140

# Frappe v15 frappe/database/mariadb/database.py type_map (fields without a column are absent).
TYPE_MAP: dict[str, str] = {
	"Currency": "decimal(21,9)",
	"Int": "int(11)",
	"Long Int": "bigint(20)",
	"Float": "decimal(21,9)",
	"Percent": "decimal(21,9)",
	"Check": "int(1)",
	"Small Text": "text",
	"Long Text": "longtext",
	"Code": "longtext",
	"Text Editor": "longtext",
	"Markdown Editor": "longtext",
	"HTML Editor": "longtext",
	"Date": "date",
	"Datetime": "datetime(6)",
	"Time": "time(6)",
	"Text": "text",
	"Data": f"varchar({VARCHAR_LEN})",
	"Link": f"varchar({VARCHAR_LEN})",
	"Dynamic Link": f"varchar({VARCHAR_LEN})",
	"Password": "text",
	"Select": f"varchar({VARCHAR_LEN})",
	"Rating": "decimal(3,2)",
	"Read Only": f"varchar({VARCHAR_LEN})",
	"Attach": "text",
	"Attach Image": "text",
	"Signature": "longtext",
	"Color": f"varchar({VARCHAR_LEN})",
	"Barcode": "longtext",
	"Geolocation": "longtext",
	"Duration": "decimal(21,9)",
	"Icon": f"varchar({VARCHAR_LEN})",
	"Phone": f"varchar({VARCHAR_LEN})",
	"Autocomplete": f"varchar({VARCHAR_LEN})",
	"JSON": "json",
}
NO_COLUMN_TYPES = frozenset(
	{
		"Section Break",
		"Column Break",
		"Tab Break",
		"HTML",
		"Button",
		"Image",
		"Fold",
		"Heading",
		"Table",
		"Table MultiSelect",
	}
)
DEFAULT_SHORTCUTS = frozenset({"_Today", "__user", "Today", "Now"})
NUMERIC_TYPES = frozenset({"Currency", "Float", "Percent", "Int", "Long Int", "Check", "Duration"})

STANDARD_COLUMNS = """`name` varchar(140) not null,
	`creation` datetime(6) default null,
	`modified` datetime(6) default null,
	`modified_by` varchar(140) default null,
	`owner` varchar(140) default null,
	`docstatus` int(1) not null default 0,
	`idx` int(8) not null default 0"""
# A child table (``istable``) row points at its parent document, as in Frappe v15.
CHILD_COLUMNS = [
	"`parent` varchar(140) default null",
	"`parentfield` varchar(140) default null",
	"`parenttype` varchar(140) default null",
]
TABLE_OPTIONS = "engine=InnoDB row_format=dynamic character set=utf8mb4 collate=utf8mb4_unicode_ci"


def load_doctypes(root: Path = DOCTYPE_ROOT) -> list[dict]:
	"""Every DocType JSON of the app, sorted by name."""
	return sorted((json.loads(path.read_text()) for path in root.glob("*/*.json")), key=lambda d: d["name"])


def column_definition(field: dict) -> str:
	fieldtype = field["fieldtype"]
	definition = f"`{field['fieldname']}` {TYPE_MAP[fieldtype]}"
	if fieldtype in NUMERIC_TYPES:
		default = field.get("default") or "0"
		definition += f" not null default {default}"
	elif (
		field.get("default")
		and field["default"] not in DEFAULT_SHORTCUTS
		and not str(field["default"]).startswith(":")
		and "text" not in TYPE_MAP[fieldtype]
	):
		escaped = str(field["default"]).replace("\\", "\\\\").replace("'", "\\'")
		definition += f" default '{escaped}'"
	else:
		definition += " default null"
	return definition


def create_table_sql(doctype: dict) -> str:
	"""``CREATE TABLE`` for a non-single DocType, with Frappe's standard columns and indexes."""
	columns = [STANDARD_COLUMNS]
	indexes = ["primary key (`name`)", "key `modified` (`modified`)"]
	if doctype.get("istable"):
		columns += CHILD_COLUMNS
		indexes.append("key `parent` (`parent`)")
	for field in doctype["fields"]:
		if field["fieldtype"] in NO_COLUMN_TYPES:
			continue
		columns.append(column_definition(field))
		if field.get("unique"):
			indexes.append(f"unique key `{field['fieldname']}` (`{field['fieldname']}`)")
		elif field.get("search_index"):
			indexes.append(f"key `{field['fieldname']}` (`{field['fieldname']}`)")
	for composite in COMPOSITE_INDEXES.get(doctype["name"], []):
		indexes.append(f"key `{index_name(composite)}` ({', '.join(f'`{c}`' for c in composite)})")
	columns += ["`_user_tags` text", "`_comments` text", "`_assign` text", "`_liked_by` text"]
	body = ",\n\t".join(columns + indexes)
	return f"create table `tab{doctype['name']}` (\n\t{body}\n) {TABLE_OPTIONS}"


SINGLES_SQL = f"""create table `tabSingles` (
	`doctype` varchar(255) default null,
	`field` varchar(255) default null,
	`value` text,
	key `singles_doctype_field_index` (`doctype`, `field`)
) {TABLE_OPTIONS}"""


def create_schema(db, doctypes: list[dict] | None = None) -> None:
	"""Create ``tabSingles`` and one table per non-single DocType; seed single defaults."""
	doctypes = load_doctypes() if doctypes is None else doctypes
	db.sql(SINGLES_SQL)
	for doctype in doctypes:
		if doctype.get("issingle"):
			for field in doctype["fields"]:
				if field["fieldtype"] not in NO_COLUMN_TYPES and field.get("default") is not None:
					db.sql(
						"insert into `tabSingles` (doctype, field, value) values (%s, %s, %s)",
						(doctype["name"], field["fieldname"], field["default"]),
					)
		else:
			db.sql(create_table_sql(doctype))


def set_single_value(db, doctype: str, field: str, value) -> None:
	"""Replace one ``tabSingles`` value (as ``frappe.db.set_single_value`` does)."""
	db.sql("delete from `tabSingles` where doctype = %s and field = %s", (doctype, field))
	if value is not None:
		db.sql(
			"insert into `tabSingles` (doctype, field, value) values (%s, %s, %s)",
			(doctype, field, str(value)),
		)
