"""Desk side of the upgrade from the original app: the warning while legacy callback URLs are on."""

from __future__ import annotations

import frappe

from tuktuk_management import roles
from tuktuk_management.legacy.callbacks import legacy_urls_accepted


def boot_session(bootinfo) -> None:
	"""Tell the desk of managers that the token-less legacy callback URLs are still accepted."""
	if frappe.session.user == "Guest" or not set(frappe.get_roles()) & set(roles.MONEY_MOVERS):
		return
	if legacy_urls_accepted(frappe.db):
		bootinfo.tuktuk_legacy_callback_urls = True
