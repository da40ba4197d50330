"""TukTuk Settings' Time fields stamped by an install instead of their defaults.

Frappe v15 gives every Time field of a new document the current time, whatever its default
(``frappe/model/create_new.py``, ``set_dynamic_default_values``), and ``install-app`` saves every
new Single (``frappe/installer.py``, ``init_singles``) before the app's ``after_install`` runs. A
site installed at 10:30 therefore closed every business day at 10:30. The rule here tells such a
stamp from a time someone chose; ``after_install`` applies it with the install's own moment and
the patch ``v1_0.repair_install_time_settings`` with the moment the settings were first saved.

A stored time is a stamp when it lies within TOLERANCE of the time of day of one of the given
moments and no later Version records a change of that field. Without any moment, the stamp is
recognised by its shape: every Time field within TOLERANCE_NO_HISTORY of the others (one save
stamped them all), and none at its default.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import frappe

from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, parse_time

TOLERANCE = timedelta(minutes=2)
TOLERANCE_NO_HISTORY = timedelta(seconds=5)


def time_defaults() -> dict[str, str]:
	"""TukTuk Settings' Time fields and their defaults (``daily_close_time`` 23:59:00, ...)."""
	return {
		df.fieldname: df.default
		for df in frappe.get_meta(SETTINGS_DOCTYPE).get("fields", {"fieldtype": "Time"})
		if df.default
	}


def reset_stamped_times(moments: list[datetime], changed: set[str] = frozenset()) -> set[str]:
	"""Set every Time field that :func:`install_artefacts` finds stamped to its default (no
	controller runs; Frappe clears its document cache). Returns the fields reset."""
	defaults = time_defaults()
	stored = dict(
		frappe.db.sql(  # nosemgrep: frappe-using-db-sql -- the stored Time values, not the doc's defaults
			"select field, value from `tabSingles` where doctype = %s and field in %s",
			(SETTINGS_DOCTYPE, tuple(defaults) or ("",)),
		)
	)
	repair = install_artefacts(stored, defaults, moments, set(changed))
	if repair:
		frappe.db.set_single_value(SETTINGS_DOCTYPE, {field: defaults[field] for field in repair})
	return repair


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
