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
	set_callback_token()


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
