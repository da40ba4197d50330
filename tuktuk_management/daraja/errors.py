"""What a Daraja call answers, without the HTTP client: the errors, the synchronous acceptance
and the B2C ``PartyB`` number rule.

The ledger core imports these to record a reply; only :mod:`tuktuk_management.daraja.client`
imports ``requests``.

- :class:`DarajaAuthError`: OAuth refused (wrong consumer key/secret) — nothing was sent.
- :class:`DarajaRejected`: Daraja answered and refused the request (``errorCode`` or a
  non-zero ``ResponseCode``) — nothing will be paid for this request.
- :class:`DuplicateOriginatorConversationID`: Daraja already has a request with this id
  (``500.002.1001``) — the earlier request was accepted; wait for its result.
- :class:`DarajaOutcomeUnknown`: timeouts, connection errors, 5xx without a Daraja error —
  the request may or may not have reached Daraja.
"""

from __future__ import annotations

from dataclasses import dataclass


class DarajaError(Exception):
	"""A Daraja call that did not succeed. ``code``/``description`` come from Daraja's reply
	(``errorCode``/``errorMessage`` or ``ResponseCode``/``ResponseDescription``) when it gave one."""

	def __init__(self, description: str, *, code: str = "", http_status: int | None = None):
		super().__init__(f"{code}: {description}" if code else description)
		self.code = code
		self.description = description
		self.http_status = http_status


class DarajaAuthError(DarajaError):
	"""OAuth token request refused (consumer key/secret wrong or app not allowed)."""


class DarajaRejected(DarajaError):
	"""Daraja answered and refused the request: nothing will happen for it."""


class DuplicateOriginatorConversationID(DarajaError):
	"""Daraja already accepted a request with this OriginatorConversationID (not a failure)."""


class DarajaOutcomeUnknown(DarajaError):
	"""No usable answer (timeout, connection error, 5xx): the request may have reached Daraja."""


@dataclass(frozen=True)
class Accepted:
	"""Daraja's synchronous acceptance: ``ConversationID``, ``OriginatorConversationID``,
	``ResponseCode`` ("0") and ``ResponseDescription``. The outcome comes later as a result
	callback."""

	conversation_id: str
	originator_conversation_id: str
	response_code: str
	response_description: str


def normalize_msisdn(value: str | None) -> str:
	"""A Kenyan mobile number as Daraja wants ``PartyB``: ``2547XXXXXXXX`` / ``2541XXXXXXXX``.

	Accepts ``07..``, ``01..``, ``+254..``, ``254..`` with spaces or dashes. Raises ValueError
	for anything else.
	"""
	digits = "".join(ch for ch in (value or "") if ch.isdigit())
	if digits.startswith("0") and len(digits) == 10:
		digits = "254" + digits[1:]
	elif len(digits) == 9 and digits[0] in "71":
		digits = "254" + digits
	if not (len(digits) == 12 and digits.startswith("254") and digits[3] in "71"):
		raise ValueError("not a Kenyan mobile number (expected 07XXXXXXXX, 01XXXXXXXX or 2547XXXXXXXX)")
	return digits
