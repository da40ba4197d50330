"""Daraja (M-Pesa API) HTTP client: OAuth, B2C payment request, Transaction Status, C2B URLs.

No frappe import: the Frappe layer builds a :class:`DarajaConfig` from TukTuk Settings, the
tests point ``base_url`` at a local stand-in. Every call has a bounded timeout and a bounded
number of attempts; a retried POST sends the same body, so a B2C retry reuses its
``OriginatorConversationID`` and Daraja refuses it as a duplicate if the first one got through.

Errors are the :class:`DarajaError` family of :mod:`tuktuk_management.daraja.errors` (with the
reply type :class:`Accepted`), so the ledger core can name them without importing ``requests``.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from tuktuk_management.daraja.errors import (
	Accepted,
	DarajaAuthError,
	DarajaError,
	DarajaOutcomeUnknown,
	DarajaRejected,
	DuplicateOriginatorConversationID,
	normalize_msisdn,
)

SANDBOX_BASE_URL = "https://sandbox.safaricom.co.ke"
PRODUCTION_BASE_URL = "https://api.safaricom.co.ke"
BASE_URLS = {"Sandbox": SANDBOX_BASE_URL, "Production": PRODUCTION_BASE_URL}

OAUTH_PATH = "/oauth/v1/generate"
B2C_PATH = "/mpesa/b2c/v3/paymentrequest"
TRANSACTION_STATUS_PATH = "/mpesa/transactionstatus/v1/query"
REGISTER_URL_PATH = "/mpesa/c2b/v2/registerurl"
ACCOUNT_BALANCE_PATH = "/mpesa/accountbalance/v1/query"
PULL_REGISTER_PATH = "/pulltransactions/v1/register"
PULL_QUERY_PATH = "/pulltransactions/v1/query"
PULL_SUCCESS_CODES = ("1000", "0")

COMMAND_IDS = ("BusinessPayment", "SalaryPayment", "PromotionPayment")
DEFAULT_COMMAND_ID = "BusinessPayment"
DUPLICATE_ERROR_CODE = "500.002.1001"

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
ATTEMPTS_MAX = 3
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 4.0
TOKEN_EXPIRY_MARGIN_S = 60
AMOUNT_KES_MAX = 250_000  # M-Pesa's per-transaction limit
REMARKS_CHARS_MAX = 100
RETRY_HTTP_STATUSES = frozenset({429})  # and every 5xx


@dataclass(frozen=True)
class DarajaConfig:
	"""Credentials and URLs, from TukTuk Settings (Password fields decrypted by the caller).

	environment: ``Sandbox`` or ``Production`` (``daraja_environment``); ``base_url`` overrides
	it (tests). shortcode: ``b2c_shortcode`` (PartyA). initiator_name / security_credential:
	``b2c_initiator_name`` / ``b2c_security_credential`` (the initiator password encrypted with
	Safaricom's certificate, base64). result_url / timeout_url: the B2C result and timeout
	callback URLs with their token. command_id: ``b2c_command_id``.
	"""

	consumer_key: str
	consumer_secret: str
	shortcode: str = ""
	initiator_name: str = ""
	security_credential: str = ""
	result_url: str = ""
	timeout_url: str = ""
	environment: str = "Sandbox"
	base_url: str = ""
	command_id: str = DEFAULT_COMMAND_ID

	@property
	def root(self) -> str:
		if self.base_url:
			return self.base_url.rstrip("/")
		if self.environment not in BASE_URLS:
			raise ValueError(f"Daraja environment must be Sandbox or Production, not {self.environment!r}")
		return BASE_URLS[self.environment]


# OAuth tokens per (base URL, consumer key), shared by every client in the process (an RQ worker
# sends many payouts): {key: (token, expires_at_monotonic_s)}.
_TOKENS: dict[tuple[str, str], tuple[str, float]] = {}
_TOKENS_LOCK = threading.Lock()


def clear_token_cache() -> None:
	with _TOKENS_LOCK:
		_TOKENS.clear()


class DarajaClient:
	"""Calls Daraja with bounded timeouts and attempts; see the module docstring for errors.

	session: a ``requests.Session`` (one is made if None). sleep/clock: injectable for tests.
	"""

	def __init__(
		self,
		config: DarajaConfig,
		*,
		session: requests.Session | None = None,
		attempts_max: int = ATTEMPTS_MAX,
		timeout_s: tuple[float, float] = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
		sleep: Callable[[float], None] = time.sleep,
		clock: Callable[[], float] = time.monotonic,
	):
		assert 1 <= attempts_max <= 10
		self.config = config
		self.session = session or requests.Session()
		self.attempts_max = attempts_max
		self.timeout_s = timeout_s
		self.sleep = sleep
		self.clock = clock

	# OAuth ------------------------------------------------------------------------------------

	def access_token(self, *, refresh: bool = False) -> str:
		"""A bearer token from ``GET /oauth/v1/generate?grant_type=client_credentials`` (Basic auth
		with consumer key and secret), cached until ``expires_in`` seconds minus a margin."""
		key = (self.config.root, self.config.consumer_key)
		with _TOKENS_LOCK:
			cached = _TOKENS.get(key)
			if cached and not refresh and cached[1] > self.clock():
				return cached[0]
		credentials = f"{self.config.consumer_key}:{self.config.consumer_secret}".encode()
		response = self._request(
			"GET",
			OAUTH_PATH,
			params={"grant_type": "client_credentials"},
			headers={"Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")},
		)
		if response.status_code in (400, 401, 403):
			raise DarajaAuthError(
				"Daraja refused the consumer key/secret",
				code=_error_code(response),
				http_status=response.status_code,
			)
		data = _json(response)
		token = str(data.get("access_token") or "")
		if response.status_code != 200 or not token:
			raise DarajaOutcomeUnknown("Daraja OAuth gave no access token", http_status=response.status_code)
		try:
			expires_in_s = int(data.get("expires_in") or 3599)
		except (TypeError, ValueError):
			expires_in_s = 3599
		with _TOKENS_LOCK:
			_TOKENS[key] = (token, self.clock() + max(0, expires_in_s - TOKEN_EXPIRY_MARGIN_S))
		return token

	# Requests -----------------------------------------------------------------------------------

	def b2c_payment(
		self,
		*,
		originator_conversation_id: str,
		amount_kes: int,
		msisdn: str,
		remarks: str,
		occasion: str = "",
	) -> Accepted:
		"""``POST /mpesa/b2c/v3/paymentrequest``: pay ``amount_kes`` (whole KES, 1..250,000) to
		``msisdn`` (``2547XXXXXXXX``) from the B2C shortcode.

		Returns :class:`Accepted` (the result arrives later at ``result_url``). Raises
		:class:`DuplicateOriginatorConversationID` if Daraja already has this id,
		:class:`DarajaRejected` if refused, :class:`DarajaOutcomeUnknown` if the outcome is unknown.
		"""
		assert isinstance(amount_kes, int) and 0 < amount_kes <= AMOUNT_KES_MAX, amount_kes
		assert originator_conversation_id
		config = self.config
		if config.command_id not in COMMAND_IDS:
			raise DarajaRejected(f"CommandID must be one of {', '.join(COMMAND_IDS)}")
		body = {
			"OriginatorConversationID": originator_conversation_id,
			"InitiatorName": config.initiator_name,
			"SecurityCredential": config.security_credential,
			"CommandID": config.command_id,
			"Amount": amount_kes,
			"PartyA": config.shortcode,
			"PartyB": normalize_msisdn(msisdn),
			"Remarks": remarks[:REMARKS_CHARS_MAX] or "Payout",
			"QueueTimeOutURL": config.timeout_url,
			"ResultURL": config.result_url,
			"Occasion": occasion[:REMARKS_CHARS_MAX],
		}
		return self._accepted(self._post(B2C_PATH, body))

	def transaction_status(
		self,
		*,
		originator_conversation_id: str = "",
		transaction_id: str = "",
		remarks: str = "Payout status",
	) -> Accepted:
		"""``POST /mpesa/transactionstatus/v1/query`` for a B2C payment of our shortcode, by its
		receipt (``TransactionID``) or by our ``OriginatorConversationID`` (sent as
		``OriginalConversationID``). The answer arrives later at ``result_url``, carrying the
		returned ``ConversationID``."""
		assert originator_conversation_id or transaction_id
		config = self.config
		body = {
			"Initiator": config.initiator_name,
			"SecurityCredential": config.security_credential,
			"CommandID": "TransactionStatusQuery",
			"TransactionID": transaction_id,
			"OriginalConversationID": originator_conversation_id,
			"PartyA": config.shortcode,
			"IdentifierType": "4",
			"ResultURL": config.result_url,
			"QueueTimeOutURL": config.timeout_url,
			"Remarks": remarks[:REMARKS_CHARS_MAX],
			"Occasion": "",
		}
		return self._accepted(self._post(TRANSACTION_STATUS_PATH, body))

	def register_c2b_urls(
		self, *, shortcode: str, confirmation_url: str, validation_url: str, response_type: str = "Completed"
	) -> dict:
		"""``POST /mpesa/c2b/v2/registerurl``: register the confirmation and validation URLs of the
		paybill. Returns Daraja's reply (``ResponseCode`` "0", ``ResponseDescription``); raises
		:class:`DarajaRejected` when refused."""
		assert response_type in ("Completed", "Cancelled")
		data = self._post(
			REGISTER_URL_PATH,
			{
				"ShortCode": shortcode,
				"ResponseType": response_type,
				"ConfirmationURL": confirmation_url,
				"ValidationURL": validation_url,
			},
		)
		code = str(data.get("ResponseCode", "0"))
		if code != "0":
			raise DarajaRejected(
				str(data.get("ResponseDescription") or "URL registration refused"), code=code
			)
		return data

	def account_balance(
		self, *, party_a: str, result_url: str, timeout_url: str, remarks: str = "Paybill balance check"
	) -> Accepted:
		"""``POST /mpesa/accountbalance/v1/query`` for the organisation shortcode ``party_a``. The
		balances arrive later at ``result_url`` (``ResultParameters`` key ``AccountBalance``); the
		reply's ``OriginatorConversationID`` (Daraja's) identifies the result."""
		config = self.config
		body = {
			"Initiator": config.initiator_name,
			"SecurityCredential": config.security_credential,
			"CommandID": "AccountBalance",
			"PartyA": party_a,
			"IdentifierType": "4",
			"Remarks": remarks[:REMARKS_CHARS_MAX],
			"QueueTimeOutURL": timeout_url,
			"ResultURL": result_url,
		}
		return self._accepted(self._post(ACCOUNT_BALANCE_PATH, body))

	def pull_transactions(self, *, shortcode: str, start: str, end: str, offset: int = 0) -> dict:
		"""``POST /pulltransactions/v1/query``: the C2B transactions of ``shortcode`` between
		``start`` and ``end`` (``YYYY-MM-DD HH:MM:SS``, EAT; Daraja keeps the last 48 hours), from
		``offset``. Returns Daraja's reply (``ResponseCode`` "1000", ``Response``: a list of pages
		of transactions); raises :class:`DarajaRejected` when refused (e.g. not registered)."""
		data = self._post(
			PULL_QUERY_PATH,
			{"ShortCode": shortcode, "StartDate": start, "EndDate": end, "OffSetValue": str(offset)},
		)
		code = str(data.get("ResponseCode", data.get("ResponseStatus", "")))
		if code not in PULL_SUCCESS_CODES:
			raise DarajaRejected(str(data.get("ResponseMessage") or "pull refused"), code=code)
		return data

	# Plumbing ---------------------------------------------------------------------------------

	def _accepted(self, data: dict) -> Accepted:
		code = str(data.get("ResponseCode", ""))
		if code != "0":
			raise DarajaRejected(str(data.get("ResponseDescription") or "request not accepted"), code=code)
		return Accepted(
			conversation_id=str(data.get("ConversationID") or ""),
			originator_conversation_id=str(data.get("OriginatorConversationID") or ""),
			response_code=code,
			response_description=str(data.get("ResponseDescription") or ""),
		)

	def _post(self, path: str, body: dict) -> dict:
		"""POST ``body`` with a bearer token; the same body on every attempt. Returns the JSON reply
		of a 200, or raises the :class:`DarajaError` that fits."""
		token_refreshed = False
		maybe_reached = False  # an earlier attempt may have been queued by Daraja
		for attempt in range(1, self.attempts_max + 1):
			token = self.access_token(refresh=token_refreshed)
			try:
				response = self._request(
					"POST", path, json=body, headers={"Authorization": f"Bearer {token}"}
				)
			except DarajaOutcomeUnknown:
				maybe_reached = True
				if attempt == self.attempts_max:
					raise
				self._backoff(attempt)
				continue
			if response.status_code == 200:
				return _json(response)
			data = _json(response)
			code = _error_code(response, data)
			message = str(
				data.get("errorMessage") or data.get("ResponseDescription") or response.reason or ""
			)
			if code == DUPLICATE_ERROR_CODE or "duplicate" in message.lower():
				raise DuplicateOriginatorConversationID(
					message or "duplicate OriginatorConversationID",
					code=code,
					http_status=response.status_code,
				)
			if response.status_code == 401 and not token_refreshed:
				token_refreshed = True  # a cached token revoked early: fetch a new one once
				continue
			if response.status_code in RETRY_HTTP_STATUSES or response.status_code >= 500:
				# Daraja may or may not have queued it; the same body again is safe (same id).
				maybe_reached = True
				if attempt == self.attempts_max:
					raise DarajaOutcomeUnknown(
						message or "Daraja unavailable", code=code, http_status=response.status_code
					)
				self._backoff(attempt)
				continue
			if maybe_reached:
				# A refusal now says nothing about the earlier attempt that may have been queued.
				raise DarajaOutcomeUnknown(
					f"refused after an unanswered attempt: {message}",
					code=code,
					http_status=response.status_code,
				)
			raise DarajaRejected(message or "request refused", code=code, http_status=response.status_code)
		raise DarajaOutcomeUnknown("Daraja did not accept the token", http_status=401)

	def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
		try:
			return self.session.request(method, self.config.root + path, timeout=self.timeout_s, **kwargs)
		except (requests.Timeout, requests.ConnectionError) as exc:
			raise DarajaOutcomeUnknown(f"{type(exc).__name__} calling Daraja {path}") from exc

	def _backoff(self, attempt: int) -> None:
		self.sleep(min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1)))


def _json(response: requests.Response) -> dict:
	try:
		data = response.json()
	except ValueError:
		return {}
	return data if isinstance(data, dict) else {}


def _error_code(response: requests.Response, data: dict | None = None) -> str:
	data = _json(response) if data is None else data
	return str(data.get("errorCode") or data.get("ResponseCode") or "")
