"""The Daraja client against the local stand-in, and the B2C result models against the samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.daraja_standin import TOKEN, daraja  # daraja is a fixture
from tuktuk_management.daraja import b2c as daraja_b2c
from tuktuk_management.daraja.client import (
	TOKEN_EXPIRY_MARGIN_S,
	DarajaAuthError,
	DarajaClient,
	DarajaConfig,
	DarajaOutcomeUnknown,
	DarajaRejected,
	DuplicateOriginatorConversationID,
	ProcessTokenCache,
	normalize_msisdn,
	token_cache_key,
)
from tuktuk_management.daraja.models import InvalidCallback

SHARED = Path("/work/shared/daraja")
SUCCESS_SAMPLE = {
	"Result": {
		"ResultType": 0,
		"ResultCode": 0,
		"ResultDesc": "The service request is processed successfully.",
		"OriginatorConversationID": "53e3-4aa8-9fe0-8fb5e4092cdd3533373",
		"ConversationID": "AG_20240706_2010364430d9bbdaf872",
		"TransactionID": "SG632NMUAB",
		"ResultParameters": {
			"ResultParameter": [
				{"Key": "TransactionAmount", "Value": 10},
				{"Key": "TransactionReceipt", "Value": "SG632NMUAB"},
				{"Key": "ReceiverPartyPublicName", "Value": "254705912645 - NICHOLAS JOHN SONGOK"},
				{"Key": "TransactionCompletedDateTime", "Value": "06.07.2024 22:48:52"},
				{"Key": "B2CUtilityAccountAvailableFunds", "Value": 8959269.60},
				{"Key": "B2CWorkingAccountAvailableFunds", "Value": 1199371.00},
				{"Key": "B2CRecipientIsRegisteredCustomer", "Value": "Y"},
				{"Key": "B2CChargesPaidAccountAvailableFunds", "Value": -1980.00},
			]
		},
		"ReferenceData": {
			"ReferenceItem": {
				"Key": "QueueTimeoutURL",
				"Value": "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit",
			}
		},
	}
}
FAILURE_SAMPLE = {
	"Result": {
		"ResultType": 0,
		"ResultCode": 2001,
		"ResultDesc": "The initiator information is invalid.",
		"OriginatorConversationID": "29112-34801843-1",
		"ConversationID": "AG_20191219_00006c6fddb15123addf",
		"TransactionID": "NLJ0000000",
		"ReferenceData": {
			"ReferenceItem": {
				"Key": "QueueTimeoutURL",
				"Value": "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit",
			}
		},
	}
}


def sample(name: str, fallback: dict) -> dict:
	path = SHARED / name
	return json.loads(path.read_text()) if path.exists() else fallback


def client_for(daraja, **kwargs) -> DarajaClient:  # noqa: F811
	kwargs.setdefault("sleep", lambda _s: None)
	kwargs.setdefault("timeout_s", (1.0, 1.0))
	return DarajaClient(daraja.config(), **kwargs)


def pay(client: DarajaClient, originator_id: str = "TTK-abc1234567", amount_kes: int = 150):
	return client.b2c_payment(
		originator_conversation_id=originator_id,
		amount_kes=amount_kes,
		msisdn="0712 345 678",
		remarks="payout",
	)


def test_b2c_request_has_daraja_shape_and_token_is_cached(daraja):  # noqa: F811
	client = client_for(daraja)
	accepted = pay(client)
	pay(client, "TTK-abc1234568", 20)
	assert daraja.oauth_calls == 1  # the token is reused until it expires
	assert accepted.response_code == "0" and accepted.conversation_id.startswith("AG_")
	assert accepted.originator_conversation_id == "TTK-abc1234567"
	body = daraja.b2c_requests[0]
	assert set(body) == {
		"OriginatorConversationID", "InitiatorName", "SecurityCredential", "CommandID", "Amount", "PartyA",
		"PartyB", "Remarks", "QueueTimeOutURL", "ResultURL", "Occasion",
	}  # fmt: skip
	assert body["Amount"] == 150 and isinstance(body["Amount"], int)
	assert body["CommandID"] == "BusinessPayment"
	assert body["PartyB"] == "254712345678" and body["PartyA"] == "600000"
	assert "b2c.result?token=" in body["ResultURL"] and "b2c.timeout?token=" in body["QueueTimeOutURL"]


def test_token_is_refetched_after_expiry(daraja):  # noqa: F811
	now = [1000.0]
	client = client_for(daraja, token_cache=ProcessTokenCache(clock=lambda: now[0]))
	assert client.access_token() == TOKEN
	now[0] += 3599 - 61
	client.access_token()
	assert daraja.oauth_calls == 1
	now[0] += 2  # inside the safety margin before expires_in
	client.access_token()
	assert daraja.oauth_calls == 2


def test_command_id_comes_from_settings(daraja):  # noqa: F811
	client = DarajaClient(daraja.config(command_id="SalaryPayment"), sleep=lambda _s: None)
	pay(client)
	assert daraja.b2c_requests[0]["CommandID"] == "SalaryPayment"
	with pytest.raises(DarajaRejected):
		pay(DarajaClient(daraja.config(command_id="Bogus")), "TTK-x000000001")


def test_duplicate_originator_id_means_already_accepted(daraja):  # noqa: F811
	client = client_for(daraja)
	pay(client)
	with pytest.raises(DuplicateOriginatorConversationID) as raised:
		pay(client)
	assert raised.value.code == "500.002.1001"
	assert len(daraja.payments) == 1


def test_a_retried_post_reuses_the_id_and_a_lost_reply_becomes_duplicate(daraja):  # noqa: F811
	daraja.behaviours = ["502"]  # accepted by Daraja, reply lost behind a gateway error
	client = client_for(daraja)
	with pytest.raises(DuplicateOriginatorConversationID):
		pay(client)
	ids = [body["OriginatorConversationID"] for body in daraja.b2c_requests]
	assert ids == ["TTK-abc1234567", "TTK-abc1234567"]
	assert len(daraja.payments) == 1


def test_rejection_is_definite_on_a_first_request(daraja):  # noqa: F811
	daraja.behaviours = ["reject"]
	with pytest.raises(DarajaRejected) as raised:
		pay(client_for(daraja))
	assert raised.value.code == "400.002.02" and raised.value.http_status == 400
	assert not daraja.payments


def test_timeouts_are_bounded_and_outcome_unknown(daraja):  # noqa: F811
	daraja.behaviours = ["timeout", "timeout"]
	daraja.reply_delay_s = 0.6
	sleeps = []
	client = DarajaClient(daraja.config(), attempts_max=2, timeout_s=(0.5, 0.3), sleep=sleeps.append)
	with pytest.raises((DarajaOutcomeUnknown, DuplicateOriginatorConversationID)):
		pay(client)
	assert len(daraja.b2c_requests) == 2 and len(sleeps) == 1
	assert {b["OriginatorConversationID"] for b in daraja.b2c_requests} == {"TTK-abc1234567"}
	assert len(daraja.payments) == 1  # one payment however many sends


def test_unreachable_daraja_is_outcome_unknown():
	config = DarajaConfig(consumer_key="k", consumer_secret="s", base_url="http://127.0.0.1:9")
	client = DarajaClient(config, attempts_max=2, sleep=lambda _s: None, timeout_s=(0.5, 0.5))
	with pytest.raises(DarajaOutcomeUnknown):
		client.access_token()


def test_a_refusal_after_a_lost_reply_is_not_taken_as_definite(daraja):  # noqa: F811
	daraja.behaviours = ["timeout", "reject"]
	daraja.reply_delay_s = 0.6
	client = DarajaClient(daraja.config(), attempts_max=2, timeout_s=(0.5, 0.3), sleep=lambda _s: None)
	with pytest.raises(DarajaOutcomeUnknown):
		pay(client)
	assert len(daraja.payments) == 1  # the first request did reach Daraja


def test_wrong_credentials_raise_auth_error(daraja):  # noqa: F811
	client = DarajaClient(daraja.config(consumer_secret="wrong"), sleep=lambda _s: None)
	with pytest.raises(DarajaAuthError):
		pay(client)
	assert not daraja.b2c_requests


def test_revoked_token_is_refreshed_once(daraja):  # noqa: F811
	from tuktuk_management.daraja import client as client_module

	client = client_for(daraja)
	client_module.PROCESS_TOKENS.set(client_module.token_cache_key(client.config), "stale", 10**9)
	pay(client)
	assert daraja.oauth_calls == 1 and len(daraja.payments) == 1
	assert client.access_token() == TOKEN  # the fresh token replaced the stale one


class DictTokenCache:
	"""A cache shared by clients as Redis is shared by workers (no expiry: the TTL is recorded)."""

	def __init__(self):
		self.tokens: dict[str, tuple[str, int]] = {}

	def get(self, key: str) -> str | None:
		entry = self.tokens.get(key)
		return entry[0] if entry else None

	def set(self, key: str, token: str, ttl_s: int) -> None:
		self.tokens[key] = (token, ttl_s)


def test_a_shared_token_cache_serves_every_client(daraja):  # noqa: F811
	shared = DictTokenCache()
	first = client_for(daraja, token_cache=shared)
	pay(first)
	second = client_for(daraja, token_cache=shared)  # another worker: its own process cache is empty
	pay(second, "TTK-abc1234568")
	assert daraja.oauth_calls == 1 and len(daraja.payments) == 2
	((key, (token, ttl_s)),) = shared.tokens.items()
	assert ttl_s == 3599 - TOKEN_EXPIRY_MARGIN_S and token == TOKEN
	# The key names neither the consumer key nor the secret.
	assert first.config.consumer_key not in key and first.config.consumer_secret not in key
	# Another consumer key or another Daraja gets its own token.
	assert token_cache_key(daraja.config(consumer_key="other-key")) != key
	assert token_cache_key(daraja.config(base_url="", environment="Production")) != key


def test_transaction_status_and_register_url_shapes(daraja):  # noqa: F811
	client = client_for(daraja)
	accepted = client.transaction_status(originator_conversation_id="TTK-abc1234567")
	body = daraja.status_requests[0]
	assert body["CommandID"] == "TransactionStatusQuery" and body["IdentifierType"] == "4"
	assert body["OriginalConversationID"] == "TTK-abc1234567" and body["PartyA"] == "600000"
	assert accepted.conversation_id in daraja.status_queries
	reply = client.register_c2b_urls(
		shortcode="600000",
		confirmation_url="https://fleet.example/api/method/tuktuk_management.api.c2b.confirmation?token=t",
		validation_url="https://fleet.example/api/method/tuktuk_management.api.c2b.validation?token=t",
	)
	assert reply["ResponseCode"] == "0"
	assert daraja.registrations[0]["ResponseType"] == "Completed"


def test_sandbox_and_production_base_urls():
	assert DarajaConfig("k", "s").root == "https://sandbox.safaricom.co.ke"
	assert DarajaConfig("k", "s", environment="Production").root == "https://api.safaricom.co.ke"
	with pytest.raises(ValueError):
		DarajaConfig("k", "s", environment="Staging").root


@pytest.mark.parametrize(
	("raw", "expected"),
	[("0712345678", "254712345678"), ("+254 712 345 678", "254712345678"), ("254112345678", "254112345678")],
)
def test_msisdn_normalization(raw, expected):
	assert normalize_msisdn(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345", "0812345678", "2547123456789", None])
def test_bad_msisdn_is_refused(raw):
	with pytest.raises(ValueError):
		normalize_msisdn(raw)


def test_result_models_parse_daraja_samples():
	success = daraja_b2c.parse_result(json.dumps(sample("b2c_result_success_sample.json", SUCCESS_SAMPLE)))
	assert success.succeeded and success.receipt == "SG632NMUAB" and success.amount_kes == 10
	assert success.completed_at.isoformat() == "2024-07-06T22:48:52"
	failure = daraja_b2c.parse_result(sample("b2c_result_failure_sample.json", FAILURE_SAMPLE))
	assert not failure.succeeded and failure.ResultCode == "2001" and failure.final
	assert failure.amount_kes is None
	for bad in ("not json", "[]", json.dumps({"Result": {"ResultDesc": "x"}})):
		with pytest.raises(InvalidCallback):
			daraja_b2c.parse_result(bad)


def test_originator_ids_are_deterministic_per_attempt():
	assert daraja_b2c.originator_conversation_id("abc123def0") == "TTK-abc123def0"
	assert daraja_b2c.originator_conversation_id("abc123def0", 3) == "TTK-abc123def0-3"
	assert daraja_b2c.parse_originator_conversation_id("TTK-abc123def0-3") == ("abc123def0", 3)
	assert daraja_b2c.parse_originator_conversation_id("TTK-abc123def0") == ("abc123def0", 1)
	assert daraja_b2c.parse_originator_conversation_id("29112-34801843-1") is None


def test_requests_session_is_used(daraja):  # noqa: F811
	session = requests.Session()
	client = DarajaClient(daraja.config(), session=session, sleep=lambda _s: None)
	pay(client)
	assert client.session is session
