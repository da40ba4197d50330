"""TukTuk Settings read once per change, not once per request.

A callback used to read the settings (one SELECT on ``tabSingles``), the callback token (a
SELECT on ``__Auth``) and decrypt it on every request. Here they are read once per change of
the settings, per process:

- which version of the settings is current comes from Frappe's document cache
  (``frappe.get_cached_doc``, kept in Redis and cleared by Frappe whenever the settings are saved
  or set with ``frappe.db.set_single_value``): its ``modified`` and the site time zone;
- the :class:`LedgerSettings` and a SHA-256 digest of the callback token (never the token itself)
  are kept in this process under the ``modified`` read *in the same transaction* as them, so a
  request whose snapshot predates a change never files old values under the new version.

A Password field saved alone changes ``modified`` too (the settings are saved), so a new token is
seen by the next request. Writes that bypass Frappe (raw SQL on ``tabSingles``) are not seen
until the settings are next saved or the process restarts.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import frappe
from frappe.utils import get_datetime
from frappe.utils.password import get_decrypted_password

from tuktuk_management.ledger.settings import (
	DEFAULT_TIMEZONE,
	SETTINGS_DOCTYPE,
	LedgerSettings,
	load_settings,
)

MEMO_ENTRIES_MAX = 16  # versions kept per process (several sites, a change now and then)


@dataclass(frozen=True)
class _Entry:
	settings: LedgerSettings
	callback_token_digest: bytes  # b"" while no callback token is set


_memo: dict[tuple[str, str, str], _Entry] = {}


def _digest(text: str) -> bytes:
	return hashlib.sha256(text.encode("utf-8")).digest()


def _normal(modified) -> str:
	return str(get_datetime(modified)) if modified else ""


def _current_version() -> tuple[str, str, str]:
	"""(site, settings ``modified``, site time zone) from Frappe's caches: no SQL when warm."""
	doc = frappe.get_cached_doc(SETTINGS_DOCTYPE)
	time_zone = frappe.get_system_settings("time_zone") or DEFAULT_TIMEZONE
	return (frappe.local.site, _normal(doc.modified), time_zone)


def _entry() -> _Entry:
	version = _current_version()
	entry = _memo.get(version)
	if entry is not None:
		return entry
	# Read everything in this transaction, and file it under the modified this transaction sees.
	# nosemgrep: frappe-using-db-sql -- the stored modified, read in this transaction
	modified = frappe.db.sql(
		"select value from `tabSingles` where doctype = %s and field = 'modified'", (SETTINGS_DOCTYPE,)
	)
	token = (
		get_decrypted_password(SETTINGS_DOCTYPE, SETTINGS_DOCTYPE, "callback_token", raise_exception=False)
		or ""
	)
	settings = load_settings(frappe.db)
	entry = _Entry(settings, _digest(token) if token else b"")
	seen = (frappe.local.site, _normal(modified[0][0]) if modified else "", settings.site_timezone)
	if len(_memo) >= MEMO_ENTRIES_MAX:
		_memo.clear()
	_memo[seen] = entry
	return entry


def cached_settings() -> LedgerSettings:
	"""The site's :class:`LedgerSettings`, read from the database once per change."""
	return _entry().settings


def callback_token_configured() -> bool:
	return bool(_entry().callback_token_digest)


def callback_token_matches(supplied: str) -> bool:
	"""True if ``supplied`` is the callback token (digests compared in constant time); False
	when no token is configured."""
	expected = _entry().callback_token_digest
	return bool(expected) and hmac.compare_digest(_digest(supplied or ""), expected)


def clear() -> None:
	"""Forget every version kept in this process (tests)."""
	_memo.clear()
