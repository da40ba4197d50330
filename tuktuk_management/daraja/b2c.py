"""Pydantic models of Daraja's B2C result and timeout bodies and Transaction Status results.

Shapes follow Safaricom's Daraja B2C v3 and Transaction Status documentation (see
``shared/daraja/b2c_result_success_sample.json`` and ``b2c_result_failure_sample.json``): every
body is ``{"Result": {...}}`` with ``ResultType``, ``ResultCode`` (0 = success; a number, or a
string on some error paths), ``ResultDesc``, ``OriginatorConversationID``, ``ConversationID``,
``TransactionID`` and an optional ``ResultParameters.ResultParameter`` list of ``{Key, Value}``
(a single object when there is only one). ``TransactionCompletedDateTime`` is
``dd.MM.yyyy HH:mm:ss`` (East Africa Time).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from tuktuk_management.daraja.models import InvalidCallback, decode_body

# Our deterministic OriginatorConversationID: ``TTK-<payout name>`` for the first attempt,
# ``TTK-<payout name>-<n>`` for attempt n >= 2 (a new id only after a definite failure).
ORIGINATOR_PREFIX = "TTK-"
ORIGINATOR_PATTERN = re.compile(r"^TTK-([0-9A-Za-z]{1,40})(?:-([0-9]{1,3}))?$")
COMPLETED_FORMAT = "%d.%m.%Y %H:%M:%S"
SUCCESS = "0"

# Result codes after which an automatic resend cannot succeed (the recipient or the request is
# wrong, not the moment): a manager must fix the cause and retry by hand.
FINAL_RESULT_CODES = frozenset(
	{
		"2040",  # credit party customer type (unregistered or unverified customer) can't be supported
		"8006",  # the security credential is locked
		"2001",  # the initiator information is invalid
		"LOCAL-MSISDN",  # our own check: the driver's M-Pesa number is not a Kenyan mobile number
	}
)


def originator_conversation_id(payout: str, attempt: int = 1) -> str:
	"""The OriginatorConversationID of ``payout``'s ``attempt`` (1-based): ``TTK-<payout>[-n]``."""
	assert attempt >= 1
	return f"{ORIGINATOR_PREFIX}{payout}" if attempt == 1 else f"{ORIGINATOR_PREFIX}{payout}-{attempt}"


def parse_originator_conversation_id(value: str) -> tuple[str, int] | None:
	"""``(payout name, attempt)`` of one of our OriginatorConversationIDs, or None."""
	match = ORIGINATOR_PATTERN.match((value or "").strip())
	if not match:
		return None
	return match.group(1), int(match.group(2) or 1)


def _as_text(value: Any) -> str:
	if value is None:
		return ""
	if isinstance(value, bool):
		return str(int(value))
	return str(value).strip()


class ResultParameter(BaseModel):
	model_config = ConfigDict(extra="ignore", frozen=True)

	Key: str
	Value: Any = None


class B2CResultBody(BaseModel):
	"""The ``Result`` object of a B2C result, B2C timeout or Transaction Status result body."""

	model_config = ConfigDict(extra="ignore", frozen=True)

	ResultType: int | str | None = None
	ResultCode: str
	ResultDesc: str = ""
	OriginatorConversationID: str = ""
	ConversationID: str = ""
	TransactionID: str = ""
	ResultParameters: dict | None = None

	_texts = field_validator(
		"ResultCode",
		"ResultDesc",
		"OriginatorConversationID",
		"ConversationID",
		"TransactionID",
		mode="before",
	)(_as_text)

	@field_validator("ResultCode")
	@classmethod
	def _code(cls, value: str) -> str:
		if not value:
			raise ValueError("ResultCode is empty")
		return value

	@property
	def parameters(self) -> dict[str, Any]:
		"""``ResultParameters.ResultParameter`` as ``{Key: Value}`` (a single object is a list of one)."""
		raw = (self.ResultParameters or {}).get("ResultParameter") or []
		items = raw if isinstance(raw, list) else [raw]
		result = {}
		for item in items:
			try:
				parameter = ResultParameter.model_validate(item)
			except ValidationError:
				continue
			result[parameter.Key] = parameter.Value
		return result

	@property
	def succeeded(self) -> bool:
		return self.ResultCode == SUCCESS

	@property
	def receipt(self) -> str:
		"""The M-Pesa receipt: ``TransactionReceipt`` or ``ReceiptNo`` parameter, else ``TransactionID``."""
		parameters = self.parameters
		return _as_text(
			parameters.get("TransactionReceipt") or parameters.get("ReceiptNo") or self.TransactionID
		)

	@property
	def amount_kes(self) -> int | None:
		"""``TransactionAmount`` (B2C) or ``Amount`` (Transaction Status) as whole KES, if present."""
		parameters = self.parameters
		value = parameters.get("TransactionAmount", parameters.get("Amount"))
		if value is None or value == "":
			return None
		try:
			amount = Decimal(str(value))
		except InvalidOperation:
			return None
		if not amount.is_finite() or amount != amount.to_integral_value():
			return None
		return int(amount)

	@property
	def completed_at(self) -> datetime | None:
		"""``TransactionCompletedDateTime`` (EAT, naive) if present and well formed."""
		value = _as_text(self.parameters.get("TransactionCompletedDateTime"))
		try:
			return datetime.strptime(value, COMPLETED_FORMAT) if value else None
		except ValueError:
			return None

	@property
	def transaction_status(self) -> str:
		"""Transaction Status results only: the ``TransactionStatus`` parameter (e.g. ``Completed``)."""
		return _as_text(self.parameters.get("TransactionStatus"))

	@property
	def final(self) -> bool:
		"""True if the code means no automatic resend can succeed (see FINAL_RESULT_CODES)."""
		return self.ResultCode in FINAL_RESULT_CODES


class B2CResult(BaseModel):
	"""A whole result/timeout body: ``{"Result": {...}}``."""

	model_config = ConfigDict(extra="ignore", frozen=True)

	Result: B2CResultBody


def parse_result(body: bytes | str | dict) -> B2CResultBody:
	"""Parse a B2C result, B2C timeout or Transaction Status result body.

	Raises :class:`~tuktuk_management.daraja.models.InvalidCallback` naming the bad fields
	(never their values) for a body that is not JSON or lacks ``Result.ResultCode``.
	"""
	data = decode_body(body)
	try:
		return B2CResult.model_validate(data).Result
	except ValidationError as exc:
		fields = sorted({".".join(str(part) for part in error["loc"]) or "body" for error in exc.errors()})
		raise InvalidCallback(f"invalid or missing fields: {', '.join(fields)}") from None


def result_body(
	*,
	originator_conversation_id: str,
	conversation_id: str,
	result_code: int | str = 0,
	result_desc: str = "The service request is processed successfully.",
	receipt: str = "",
	amount_kes: int = 0,
	completed: str = "06.07.2024 22:48:52",
) -> dict:
	"""A B2C result body in Daraja's documented shape (as the shared samples), for tests/samples.

	With ``result_code`` 0 it carries the success ``ResultParameters``; otherwise only the
	``ReferenceData`` a failure result has.
	"""
	body: dict[str, Any] = {
		"ResultType": 0,
		"ResultCode": result_code,
		"ResultDesc": result_desc,
		"OriginatorConversationID": originator_conversation_id,
		"ConversationID": conversation_id,
		"TransactionID": receipt or "NLJ0000000",
		"ReferenceData": {
			"ReferenceItem": {
				"Key": "QueueTimeoutURL",
				"Value": "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit",
			}
		},
	}
	if str(result_code) == SUCCESS:
		body["ResultParameters"] = {
			"ResultParameter": [
				{"Key": "TransactionAmount", "Value": amount_kes},
				{"Key": "TransactionReceipt", "Value": receipt},
				{"Key": "ReceiverPartyPublicName", "Value": "254705912645 - NICHOLAS JOHN SONGOK"},
				{"Key": "TransactionCompletedDateTime", "Value": completed},
				{"Key": "B2CUtilityAccountAvailableFunds", "Value": 8959269.60},
				{"Key": "B2CWorkingAccountAvailableFunds", "Value": 1199371.00},
				{"Key": "B2CRecipientIsRegisteredCustomer", "Value": "Y"},
				{"Key": "B2CChargesPaidAccountAvailableFunds", "Value": -1980.00},
			]
		}
	return {"Result": body}


def status_result_body(
	*,
	conversation_id: str,
	transaction_status: str = "Completed",
	receipt: str = "",
	amount_kes: int = 0,
	result_code: int | str = 0,
	result_desc: str = "The service request has been accepted successfully.",
) -> dict:
	"""A Transaction Status result body (Daraja shape): ``ConversationID`` is the query's own."""
	body: dict[str, Any] = {
		"ResultType": 0,
		"ResultCode": result_code,
		"ResultDesc": result_desc,
		"OriginatorConversationID": f"status-{conversation_id}",
		"ConversationID": conversation_id,
		"TransactionID": receipt or "NLJ0000000",
	}
	if str(result_code) == SUCCESS:
		body["ResultParameters"] = {
			"ResultParameter": [
				{"Key": "ReceiptNo", "Value": receipt},
				{"Key": "TransactionStatus", "Value": transaction_status},
				{"Key": "Amount", "Value": amount_kes},
				{"Key": "ReasonType", "Value": "Business Payment to Customer via API"},
				{"Key": "FinalisedTime", "Value": 20240706224852},
			]
		}
	return {"Result": body}


def callback_ack() -> dict:
	"""The acknowledgement Daraja expects from a result/timeout URL (top-level ``ResultCode``)."""
	return {"ResultCode": 0, "ResultDesc": "Accepted"}
