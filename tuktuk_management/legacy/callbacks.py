"""The original app's callback URLs, kept as aliases of this app's endpoints during an upgrade.

Safaricom keeps calling the URLs the original registered until the tokenised ones are
registered. Those URLs carry no token, so they are accepted only while TukTuk Settings
``accept_legacy_callback_urls`` is on (the upgrade turns it on, a fresh install leaves it off);
the BusinessShortCode check, the IP allowlist and raw-first storage apply as to every callback,
and every call is stored with the legacy URL it arrived at.
"""

from __future__ import annotations

from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE

SWITCH_FIELD = "accept_legacy_callback_urls"
TURNED_OFF = "legacy callback URLs are turned off in TukTuk Settings"

# The original's callback methods (dotted paths under /api/method/).
PAYMENT_CONFIRMATION = "tuktuk_management.api.tuktuk.payment_confirmation"
PAYMENT_VALIDATION = "tuktuk_management.api.tuktuk.payment_validation"
MPESA_CONFIRMATION = "tuktuk_management.api.tuktuk.mpesa_confirmation"
MPESA_VALIDATION = "tuktuk_management.api.tuktuk.mpesa_validation"
B2C_RESULT = "tuktuk_management.api.sendpay.b2c_result"
B2C_TIMEOUT = "tuktuk_management.api.sendpay.b2c_timeout"


def legacy_urls_accepted(db: Database) -> bool:
	"""True while TukTuk Settings accepts callbacks at the original's URLs."""
	rows = db.sql(
		"select value from `tabSingles` where doctype = %s and field = %s", (SETTINGS_DOCTYPE, SWITCH_FIELD)
	)
	return bool(rows) and str(rows[0][0] or "0").strip() == "1"
