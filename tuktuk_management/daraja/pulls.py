"""Daraja payloads for checking the books against M-Pesa: Account Balance results and Pull
Transactions replies (shapes as Daraja documents them). Pure parsing; amounts as Decimal."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from tuktuk_management.daraja.models import InvalidCallback

BALANCE_ACCOUNTS_MAX = 20
PULLED_PER_REPLY_MAX = 5_000
EAT = timezone(timedelta(hours=3))


@dataclass(frozen=True)
class BalanceResult:
	"""An Account Balance result. ``balances_kes``: account name -> current balance (KES, Decimal)
	for a successful query; ``completed_at``: ``BOCompletedTime`` (EAT, naive) or None."""

	originator_conversation_id: str
	conversation_id: str
	result_code: str
	result_desc: str
	balances_kes: dict[str, Decimal]
	completed_at: datetime | None

	@property
	def succeeded(self) -> bool:
		return self.result_code == "0"


def _decode(body: bytes | str | dict) -> dict:
	if isinstance(body, dict):
		return body
	try:
		data = json.loads(body)
	except (TypeError, ValueError) as exc:
		raise InvalidCallback("body is not JSON", "C2B00016") from exc
	if not isinstance(data, dict):
		raise InvalidCallback("body is not a JSON object", "C2B00016")
	return data


def parse_balance_result(body: bytes | str | dict) -> BalanceResult:
	"""Parse ``{"Result": {...}}`` from the Account Balance ``ResultURL`` (or ``QueueTimeOutURL``).

	``AccountBalance`` is ``name|currency|current|available|reserved|uncleared`` per account,
	accounts separated by ``&``. Raises :class:`InvalidCallback` for another shape.
	"""
	data = _decode(body)
	result = data.get("Result")
	if not isinstance(result, dict):
		raise InvalidCallback("no Result object", "C2B00016")
	originator = str(result.get("OriginatorConversationID") or "")
	if not originator:
		raise InvalidCallback("no OriginatorConversationID", "C2B00016")
	parameters = (result.get("ResultParameters") or {}).get("ResultParameter") or []
	if isinstance(parameters, dict):
		parameters = [parameters]
	values = {str(p.get("Key")): p.get("Value") for p in parameters if isinstance(p, dict)}
	balances: dict[str, Decimal] = {}
	text = str(values.get("AccountBalance") or "")
	for entry in [part for part in text.split("&") if part.strip()][:BALANCE_ACCOUNTS_MAX]:
		fields = entry.split("|")
		if len(fields) < 3:
			raise InvalidCallback(f"AccountBalance entry has {len(fields)} fields", "C2B00016")
		try:
			balances[fields[0].strip()] = Decimal(fields[2].strip())
		except InvalidOperation as exc:
			raise InvalidCallback("AccountBalance amount is not a number", "C2B00016") from exc
	completed = None
	if values.get("BOCompletedTime"):
		try:
			completed = datetime.strptime(str(values["BOCompletedTime"]), "%Y%m%d%H%M%S")
		except ValueError as exc:
			raise InvalidCallback("BOCompletedTime is not YYYYMMDDHHMMSS", "C2B00016") from exc
	return BalanceResult(
		originator_conversation_id=originator,
		conversation_id=str(result.get("ConversationID") or ""),
		result_code=str(result.get("ResultCode", "")),
		result_desc=str(result.get("ResultDesc") or "")[:1000],
		balances_kes=balances,
		completed_at=completed,
	)


def balance_result_body(
	*, originator_conversation_id: str, conversation_id: str, balances_kes: dict[str, Any], completed: str
) -> dict:
	"""An Account Balance result body in Daraja's documented shape (for tests and the stand-in)."""
	text = "&".join(
		f"{name}|KES|{amount:.2f}|{amount:.2f}|0.00|0.00" for name, amount in balances_kes.items()
	)
	return {
		"Result": {
			"ResultType": 0,
			"ResultCode": 0,
			"ResultDesc": "The service request is processed successfully.",
			"OriginatorConversationID": originator_conversation_id,
			"ConversationID": conversation_id,
			"TransactionID": "OA90000000",
			"ResultParameters": {
				"ResultParameter": [
					{"Key": "AccountBalance", "Value": text},
					{"Key": "BOCompletedTime", "Value": int(completed)},
				]
			},
			"ReferenceData": {
				"ReferenceItem": {"Key": "QueueTimeoutURL", "Value": "https://example/abresults"}
			},
		}
	}


@dataclass(frozen=True)
class PulledTransaction:
	"""One C2B transaction from Pull Transactions (no payer data kept)."""

	trans_id: str
	completed_at: datetime  # EAT, naive
	amount_kes: Decimal
	bill_ref_number: str
	transaction_type: str


def parse_pull_reply(data: dict) -> list[PulledTransaction]:
	"""The transactions of a Pull Transactions query reply: ``Response`` is a list of pages (lists)
	of ``{transactionId, trxDate, msisdn, sender, transactiontype, billreference, amount, ...}``;
	``trxDate`` is ISO 8601 (``2020-08-05T10:13:00Z``, UTC) or ``YYYY-MM-DD HH:MM:SS`` (EAT).
	Raises ValueError naming the malformed entry."""
	pages = data.get("Response") or []
	if isinstance(pages, dict):
		pages = [[pages]]
	entries = [entry for page in pages for entry in (page if isinstance(page, list) else [page])]
	if len(entries) > PULLED_PER_REPLY_MAX:
		raise ValueError(f"more than {PULLED_PER_REPLY_MAX} transactions in one reply")
	pulled = []
	for index, entry in enumerate(entries):
		if not isinstance(entry, dict) or not entry.get("transactionId"):
			raise ValueError(f"entry {index}: no transactionId")
		try:
			amount = Decimal(str(entry.get("amount")).replace(",", ""))
		except InvalidOperation as exc:
			raise ValueError(f"entry {index}: amount is not a number") from exc
		pulled.append(
			PulledTransaction(
				trans_id=str(entry["transactionId"]).strip().upper(),
				completed_at=_pull_time(str(entry.get("trxDate") or ""), index),
				amount_kes=amount,
				bill_ref_number=str(entry.get("billreference") or "").strip(),
				transaction_type=str(entry.get("transactiontype") or ""),
			)
		)
	return pulled


def _pull_time(text: str, index: int) -> datetime:
	try:
		if "T" in text:
			moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
			if moment.tzinfo is not None:
				return moment.astimezone(EAT).replace(tzinfo=None)
			return moment
		return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
	except ValueError as exc:
		raise ValueError(f"entry {index}: trxDate {text!r} is not a date and time") from exc
