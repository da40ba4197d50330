"""Daraja OAuth tokens kept in the site's Redis cache (``frappe.cache``), shared by every web and
background worker: a payout job runs in a fresh process, so a token kept in process memory was
lost after each job and every job asked Safaricom for a new one.

A token is stored with Redis expiry = ``expires_in`` minus ``TOKEN_EXPIRY_MARGIN_S``, so it is
refreshed before Daraja expires it; the key is a digest of the base URL and consumer key, and
neither the token nor the credentials are logged.
"""

from __future__ import annotations

import frappe


class RedisTokenCache:
	"""``daraja.client.TokenCache`` over ``frappe.cache`` (keys are prefixed with the site's
	database by Frappe). Redis being unreachable counts as a miss."""

	def get(self, key: str) -> str | None:
		value = frappe.cache.get_value(key, expires=True)
		return value if isinstance(value, str) and value else None

	def set(self, key: str, token: str, ttl_s: int) -> None:
		if ttl_s > 0:
			frappe.cache.set_value(key, token, expires_in_sec=int(ttl_s))
