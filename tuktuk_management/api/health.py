"""The health of the scheduled work for managers and monitoring systems (docs/scheduling.md).

    GET /api/method/tuktuk_management.api.health.status               (TukTuk Manager, System Manager)
    GET /api/method/tuktuk_management.api.health.status?token=<token>  (unattended probes)

The token is TukTuk Settings' ``health_token``; while it is empty, token probes are refused.
"""

from __future__ import annotations

import hashlib
import hmac

import frappe
from frappe import _
from frappe.utils.password import get_decrypted_password

from tuktuk_management import health, roles
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE


def _token_matches(supplied: str) -> bool:
	expected = get_decrypted_password(
		SETTINGS_DOCTYPE, SETTINGS_DOCTYPE, "health_token", raise_exception=False
	)
	if not expected or not supplied:
		return False
	digest = hashlib.sha256
	return hmac.compare_digest(digest(supplied.encode()).digest(), digest(expected.encode()).digest())


@frappe.whitelist(allow_guest=True, methods=["GET"])
def status(token: str | None = None) -> dict:
	"""The health report (``tuktuk_management.health.report``): ``status`` ok/warning/critical,
	``exit_code`` 0/1/2 and the ``checks``. Managers read it logged in; anyone with TukTuk
	Settings' ``health_token`` reads it with ``?token=``. Raises PermissionError otherwise."""
	supplied = frappe.request.args.get("token") if frappe.request else None
	supplied = supplied or token or ""
	if supplied:
		if not _token_matches(supplied):
			frappe.throw(_("Wrong or unset health token."), frappe.PermissionError)
	else:
		frappe.only_for(roles.HEALTH_READERS)
		# frappe.only_for returns early in tests: refuse here too, so the rule is tested.
		if frappe.session.user != "Administrator" and set(roles.HEALTH_READERS).isdisjoint(
			frappe.get_roles()
		):
			frappe.throw(_("Only TukTuk Managers can read the health report."), frappe.PermissionError)
	return health.report()
