"""Pydantic models of the Daraja C2B callback bodies and the replies Daraja expects.

Field names and types follow Safaricom's Daraja C2B register-URL documentation (see
``shared/daraja/c2b_confirmation_sample.json``): validation and confirmation bodies carry the
same fields, ``TransAmount`` is a string of whole shillings, ``TransTime`` is ``YYYYMMDDHHmmss``
in East Africa Time, ``MSISDN`` arrives masked.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

EAST_AFRICA_TIME = ZoneInfo("Africa/Nairobi")
CALLBACK_BODY_BYTES_MAX = 16_384
TRANSACTION_AMOUNT_KES_MAX = 250_000  # M-Pesa's per-transaction limit
TRANS_ID_PATTERN = re.compile(r"^[A-Za-z0-9]{6,20}$")
TRANS_TIME_FORMAT = "%Y%m%d%H%M%S"
AMOUNT_PATTERN = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,9})?$")

# Validation reply codes (shared/daraja/c2b_validation_responses.json).
ACCEPT = "0"
INVALID_ACCOUNT = "C2B00012"
INVALID_AMOUNT = "C2B00013"
INVALID_SHORTCODE = "C2B00015"
OTHER_ERROR = "C2B00016"


class InvalidCallback(ValueError):
	"""A callback body that cannot be applied. ``result_code`` is the C2B rejection code that fits."""

	def __init__(self, reason: str, result_code: str = OTHER_ERROR):
		super().__init__(reason)
		self.reason = reason
		self.result_code = result_code


def _as_text(value: Any) -> Any:
	if value is None:
		return ""
	if isinstance(value, int | Decimal) and not isinstance(value, bool):
		return str(value)
	return value


class C2BCallback(BaseModel):
	"""A C2B validation or confirmation body. Unknown extra fields are ignored."""

	model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

	TransactionType: str = ""
	TransID: str
	TransTime: str
	TransAmount: str
	BusinessShortCode: str
	BillRefNumber: str = ""
	InvoiceNumber: str = ""
	OrgAccountBalance: str = ""
	ThirdPartyTransID: str = ""
	MSISDN: str = ""
	FirstName: str = ""
	MiddleName: str = ""
	LastName: str = ""

	_text_fields = field_validator(
		"TransactionType",
		"TransID",
		"TransTime",
		"TransAmount",
		"BusinessShortCode",
		"BillRefNumber",
		"InvoiceNumber",
		"OrgAccountBalance",
		"ThirdPartyTransID",
		"MSISDN",
		"FirstName",
		"MiddleName",
		"LastName",
		mode="before",
	)(_as_text)

	@field_validator("TransID")
	@classmethod
	def _trans_id(cls, value: str) -> str:
		if not TRANS_ID_PATTERN.match(value):
			raise ValueError("TransID must be 6-20 letters or digits")
		return value.upper()

	@field_validator("TransTime")
	@classmethod
	def _trans_time(cls, value: str) -> str:
		datetime.strptime(value, TRANS_TIME_FORMAT)
		return value

	@field_validator("BusinessShortCode")
	@classmethod
	def _shortcode(cls, value: str) -> str:
		if not value.isdigit():
			raise ValueError("BusinessShortCode must be digits")
		return value

	@property
	def amount_kes(self) -> int:
		"""``TransAmount`` as whole KES (validated by :func:`parse_c2b`)."""
		return int(Decimal(self.TransAmount))

	@property
	def account_reference(self) -> str:
		"""``BillRefNumber`` trimmed and upper-cased: the routing key (matched case-insensitively)."""
		return self.BillRefNumber.strip().upper()

	def trans_time_in(self, timezone: str) -> datetime:
		"""``TransTime`` (EAT) converted to ``timezone`` as a naive datetime, as Frappe stores it."""
		eat = datetime.strptime(self.TransTime, TRANS_TIME_FORMAT).replace(tzinfo=EAST_AFRICA_TIME)
		return eat.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def check_amount(raw_amount: Any) -> int:
	"""``TransAmount`` as whole KES, or :class:`InvalidCallback` with ``C2B00013``."""
	text = repr(raw_amount) if isinstance(raw_amount, float) else str(_as_text(raw_amount)).strip()
	if isinstance(raw_amount, bool) or not AMOUNT_PATTERN.match(text):
		raise InvalidCallback(f"TransAmount is not a positive decimal number: {raw_amount!r}", INVALID_AMOUNT)
	try:
		amount = Decimal(text)
	except (InvalidOperation, ValueError) as exc:
		raise InvalidCallback(f"TransAmount is not a number: {raw_amount!r}", INVALID_AMOUNT) from exc
	if not amount.is_finite() or amount != amount.to_integral_value():
		raise InvalidCallback(f"TransAmount is not whole shillings: {raw_amount!r}", INVALID_AMOUNT)
	if amount <= 0:
		raise InvalidCallback(f"TransAmount must be > 0: {raw_amount!r}", INVALID_AMOUNT)
	if amount > TRANSACTION_AMOUNT_KES_MAX:
		raise InvalidCallback(
			f"TransAmount {raw_amount!r} exceeds the M-Pesa limit of {TRANSACTION_AMOUNT_KES_MAX} KES",
			INVALID_AMOUNT,
		)
	return int(amount)


def decode_body(body: bytes | str | dict) -> dict:
	"""A raw callback body as a JSON object, or :class:`InvalidCallback`."""
	if isinstance(body, dict):
		return body
	if isinstance(body, bytes):
		if len(body) > CALLBACK_BODY_BYTES_MAX:
			raise InvalidCallback(f"body larger than {CALLBACK_BODY_BYTES_MAX} bytes")
		try:
			body = body.decode("utf-8")
		except UnicodeDecodeError as exc:
			raise InvalidCallback("body is not UTF-8") from exc
	if len(body) > CALLBACK_BODY_BYTES_MAX:
		raise InvalidCallback(f"body larger than {CALLBACK_BODY_BYTES_MAX} bytes")
	try:
		data = json.loads(body)
	except (json.JSONDecodeError, RecursionError) as exc:
		raise InvalidCallback("body is not JSON") from exc
	if not isinstance(data, dict):
		raise InvalidCallback("body is not a JSON object")
	return data


def parse_c2b(body: bytes | str | dict) -> C2BCallback:
	"""Parse a C2B validation/confirmation body.

	Raises :class:`InvalidCallback` (``result_code`` C2B00013 for a bad ``TransAmount``,
	C2B00016 otherwise) with a one-line reason naming the offending fields (never their values,
	which may carry personal data).
	"""
	data = decode_body(body)
	if "TransAmount" in data:
		check_amount(data["TransAmount"])
	try:
		return C2BCallback.model_validate(data)
	except ValidationError as exc:
		fields = sorted({".".join(str(part) for part in error["loc"]) or "body" for error in exc.errors()})
		code = INVALID_AMOUNT if fields == ["TransAmount"] else OTHER_ERROR
		raise InvalidCallback(f"invalid or missing fields: {', '.join(fields)}", code) from None


def trans_id_of(body: bytes | str | dict) -> str:
	"""Best-effort ``TransID`` of a raw body for the callback log ("" if there is none)."""
	try:
		value = decode_body(body).get("TransID")
	except InvalidCallback:
		return ""
	value = str(_as_text(value)).strip().upper()
	return value if TRANS_ID_PATTERN.match(value) else ""


def c2b_body(
	*,
	trans_id: str,
	trans_time: str,
	amount: str,
	account: str,
	shortcode: str,
	org_account_balance: str = "",
	msisdn: str = "2547 ***** 126",
	first_name: str = "NICHOLAS",
) -> dict:
	"""A C2B validation/confirmation body in Daraja's documented shape, every field present.

	For test payloads, the shipped samples and console recovery of a missed callback. amount is
	``TransAmount`` as Daraja sends it (``"100.00"``); trans_time is ``YYYYMMDDHHmmss`` (EAT).
	"""
	return {
		"TransactionType": "Pay Bill",
		"TransID": trans_id,
		"TransTime": trans_time,
		"TransAmount": amount,
		"BusinessShortCode": shortcode,
		"BillRefNumber": account,
		"InvoiceNumber": "",
		"OrgAccountBalance": org_account_balance,
		"ThirdPartyTransID": "",
		"MSISDN": msisdn,
		"FirstName": first_name,
		"MiddleName": "",
		"LastName": "",
	}


def validation_reply(result_code: str) -> dict:
	"""The body Daraja expects from the validation URL: ``ResultCode`` at the top level."""
	if result_code == ACCEPT:
		return {"ResultCode": ACCEPT, "ResultDesc": "Accepted"}
	return {"ResultCode": result_code, "ResultDesc": "Rejected"}


def confirmation_ack() -> dict:
	"""The acknowledgement of a confirmation (always 0: the money has already moved)."""
	return {"ResultCode": 0, "ResultDesc": "Success"}
