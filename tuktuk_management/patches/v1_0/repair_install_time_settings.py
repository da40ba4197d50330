"""Give back 23:59:00 / 02:00:00 (and the other Time defaults) to sites whose TukTuk Settings
still hold the moment the settings were first saved.

Frappe v15 sets every Time field of a new document to the current time, whatever its default
(``frappe/model/create_new.py``, ``set_dynamic_default_values``), so a site installed at 10:30
closed every business day at 10:30. A stored time is taken for that install artefact when it
lies within TOLERANCE of the time of day at which the settings were first saved (their first
Version, or the ``creation`` kept in ``tabSingles``) and no later Version records a change of
that field. Without any such history, the artefact is recognised by its shape: every Time field
within TOLERANCE_NO_HISTORY of the others (one save stamped them all), and none at its default.
Times a manager chose are left alone.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import frappe
from frappe.utils import get_datetime

from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, parse_time

TOLERANCE = timedelta(minutes=2)
TOLERANCE_NO_HISTORY = timedelta(seconds=5)


def execute():
	defaults = {
		df.fieldname: df.default
		for df in frappe.get_meta(SETTINGS_DOCTYPE).get("fields", {"fieldtype": "Time"})
		if df.default
	}
	stored = dict(
		frappe.db.sql(
			"select field, value from `tabSingles` where doctype = %s and field in %s",
			(SETTINGS_DOCTYPE, tuple(defaults) or ("",)),
		)
	)
	repair = install_artefacts(stored, defaults, first_saved_moments(), changed_later())
	if repair:
		frappe.db.set_single_value(SETTINGS_DOCTYPE, {field: defaults[field] for field in repair})
		print(f"TukTuk Settings: {', '.join(sorted(repair))} reset to their defaults (install artefact)")


def first_saved_moments() -> list[datetime]:
	"""When the settings were first saved: their first Version and their ``creation``."""
	moments = []
	first = frappe.get_all(
		"Version",
		filters={"ref_doctype": SETTINGS_DOCTYPE, "docname": SETTINGS_DOCTYPE},
		fields=["creation"],
		order_by="creation asc",
		limit=1,
	)
	if first:
		moments.append(get_datetime(first[0].creation))
	creation = frappe.db.sql(
		"select value from `tabSingles` where doctype = %s and field = 'creation'", (SETTINGS_DOCTYPE,)
	)
	if creation and creation[0][0]:
		moments.append(get_datetime(creation[0][0]))
	return moments


def changed_later() -> set[str]:
	"""Fields a Version after the first one records as changed (someone chose them)."""
	versions = frappe.get_all(
		"Version",
		filters={"ref_doctype": SETTINGS_DOCTYPE, "docname": SETTINGS_DOCTYPE},
		fields=["data"],
		order_by="creation asc",
	)
	fields = set()
	for version in versions[1:]:
		try:
			fields |= {change[0] for change in json.loads(version.data or "{}").get("changed", [])}
		except (ValueError, TypeError, IndexError):
			continue
	return fields


def _seconds(value: time) -> float:
	return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6


def _apart(a: time, b: time) -> timedelta:
	"""Distance between two times of day, across midnight."""
	diff = abs(_seconds(a) - _seconds(b))
	return timedelta(seconds=min(diff, 86400 - diff))


def install_artefacts(
	stored: dict[str, str | None],
	defaults: dict[str, str],
	moments: list[datetime],
	changed: set[str],
) -> set[str]:
	"""The Time fields (of ``stored``) to reset to ``defaults``; see the module docstring."""
	sentinel = time(0, 0, 0, 1)
	times = {
		field: parse_time(value, sentinel)
		for field, value in stored.items()
		if value and field in defaults and parse_time(value, sentinel) != sentinel
	}
	at_default = {field for field, value in times.items() if value == parse_time(defaults[field], sentinel)}
	candidates = {field for field in times if field not in at_default and field not in changed}
	if moments:
		return {
			field
			for field in candidates
			if any(_apart(times[field], moment.time()) <= TOLERANCE for moment in moments)
		}
	if len(times) < 2 or at_default:
		return set()
	values = list(times.values())
	if all(_apart(value, values[0]) <= TOLERANCE_NO_HISTORY for value in values):
		return candidates
	return set()
