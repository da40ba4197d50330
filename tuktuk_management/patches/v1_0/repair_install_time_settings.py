"""Give back 23:59:00 / 02:00:00 (and the other Time defaults) to sites whose TukTuk Settings
still hold the moment the settings were first saved.

Frappe v15 sets every Time field of a new document to the current time, whatever its default
(``frappe/model/create_new.py``, ``set_dynamic_default_values``), so a site installed at 10:30
closed every business day at 10:30. The moments the settings were first saved are their first
Version, the ``creation`` kept in ``tabSingles`` and the install of the app (its first Scheduled
Job Type); fields a later Version changed were chosen.
The rule is ``tuktuk_management.settings_times.install_artefacts``. Times a manager chose are
left alone.
"""

from __future__ import annotations

import json
from datetime import datetime

import frappe
from frappe.utils import get_datetime

from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE
from tuktuk_management.settings_times import reset_stamped_times


def execute():
	repair = reset_stamped_times(first_saved_moments(), changed_later())
	if repair:
		print(f"TukTuk Settings: {', '.join(sorted(repair))} reset to their defaults (install stamp)")


def first_saved_moments() -> list[datetime]:
	"""When the settings were first saved: their first Version, their ``creation``, the install."""
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
	creation = frappe.db.sql(  # nosemgrep: frappe-using-db-sql -- the Single's stored creation stamp
		"select value from `tabSingles` where doctype = %s and field = 'creation'", (SETTINGS_DOCTYPE,)
	)
	if creation and creation[0][0]:
		moments.append(get_datetime(creation[0][0]))
	# install-app registers the app's Scheduled Job Types seconds after it saved the settings.
	installed = frappe.db.sql(  # nosemgrep: frappe-using-db-sql -- when install-app registered the app's jobs
		"select min(creation) from `tabScheduled Job Type` where method like %s", ("tuktuk_management.%",)
	)
	if installed and installed[0][0]:
		moments.append(get_datetime(installed[0][0]))
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
