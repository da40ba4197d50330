"""What a fresh site needs that patches cannot give it (``install-app`` marks every patch as run)."""

from __future__ import annotations

import secrets

import frappe

from tuktuk_management import roles
from tuktuk_management.ledger import doctypes

ROLES = roles.ALL
SETTINGS_DOCTYPE = doctypes.SETTINGS
CALLBACK_TOKEN_BYTES = 32


def after_install() -> None:
	create_roles()
	set_default_times()
	set_callback_token()
	keep_scheduler_active()


def create_roles() -> None:
	"""Create the app's roles if missing (desk access for managers and accountants only)."""
	for role in ROLES:
		if not frappe.db.exists("Role", role):
			frappe.get_doc(
				{"doctype": "Role", "role_name": role, "desk_access": 0 if role == roles.DRIVER else 1}
			).insert(ignore_permissions=True)


def set_callback_token() -> None:
	"""Give TukTuk Settings a random ``callback_token`` unless one is already set.

	While the token is empty every callback is refused, so a fresh site gets a working secret;
	a manager reads it from the settings form to register the callback URLs.
	"""
	settings = frappe.get_single(SETTINGS_DOCTYPE)
	if settings.get_password("callback_token", raise_exception=False):
		return
	settings.callback_token = secrets.token_urlsafe(CALLBACK_TOKEN_BYTES)
	settings.flags.ignore_permissions = True
	settings.save()


def set_default_times() -> None:
	"""Every Time field of TukTuk Settings at its default (``daily_close_time`` 23:59:00,
	``reconciliation_time`` 02:00:00, ...) unless someone chose it.

	``install-app`` saves the new settings before this runs (``init_singles``), and Frappe v15
	stamps every Time field of a new document with the current time: the fields stamped within
	the last minutes are reset (``settings_times``). Settings never saved are saved with the
	defaults.
	"""
	from frappe.utils import now_datetime

	from tuktuk_management.settings_times import reset_stamped_times, time_defaults

	# nosemgrep: frappe-using-db-sql -- whether the Single was ever stored (its doc fills defaults)
	if frappe.db.sql("select 1 from `tabSingles` where doctype = %s limit 1", (SETTINGS_DOCTYPE,)):
		reset_stamped_times([now_datetime()])
		return
	settings = frappe.get_single(SETTINGS_DOCTYPE)
	settings.update(time_defaults())
	settings.flags.ignore_permissions = True
	settings.save()


def keep_scheduler_active() -> None:
	"""A new site has no Activity Log, so Frappe treats it as dormant and runs its scheduled jobs
	at most once a day: record the first entry now (``tuktuk_management.health.keep_site_active``)."""
	from tuktuk_management.health import keep_site_active

	keep_site_active()
