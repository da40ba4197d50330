"""Upgrade from the original app, after the model sync: opening vouchers, rollover, pre-ledger
transactions, users and roles, vehicle statuses, Daraja settings, a callback token.

Does nothing on a site that never ran the original app (see :mod:`tuktuk_management.legacy`).
"""

import secrets

import frappe
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password, set_encrypted_password

from tuktuk_management.install import CALLBACK_TOKEN_BYTES, SETTINGS_DOCTYPE, create_roles
from tuktuk_management.legacy import apply, plan


def execute():
	if not plan.is_legacy_site(frappe.db):
		return
	create_roles()
	counts = apply.after_model_sync(
		frappe.db,
		now=now_datetime(),
		user=frappe.session.user or "Administrator",
		decrypt=_decrypt,
		on_driver=lambda done, total: frappe.utils.update_progress_bar("Opening balances", done - 1, total),
	)
	counts["callback_token_created"] = int(ensure_callback_token())
	frappe.clear_cache(doctype=SETTINGS_DOCTYPE)
	print(f"\nTukTuk upgrade from the original app, after the model sync: {counts}")


def _decrypt(fieldname: str) -> str | None:
	return get_decrypted_password(SETTINGS_DOCTYPE, SETTINGS_DOCTYPE, fieldname, raise_exception=False)


def ensure_callback_token() -> bool:
	"""Store a random ``callback_token`` unless one exists (``after_install`` never ran here).

	Written directly (encrypted, masked in the Singles table as Frappe does) rather than through
	``settings.save()``, so values carried from the original are not re-validated here.
	"""
	if _decrypt("callback_token"):
		return False
	set_encrypted_password(
		SETTINGS_DOCTYPE, SETTINGS_DOCTYPE, secrets.token_urlsafe(CALLBACK_TOKEN_BYTES), "callback_token"
	)
	frappe.db.set_single_value(SETTINGS_DOCTYPE, "callback_token", "*" * 8)
	return True
