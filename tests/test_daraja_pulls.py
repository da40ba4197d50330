"""The paybill balance check and Pull Transactions against the local Daraja stand-in."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests import statement_fixture as fixture
from tests.daraja_standin import DarajaStandIn
from tuktuk_management.daraja import pulls
from tuktuk_management.daraja.client import DarajaClient, DarajaRejected, clear_token_cache
from tuktuk_management.ledger.callback_log import store_callback
from tuktuk_management.ledger.mpesa_statement import balance, config, match, pull
from tuktuk_management.standalone import statement as runner

AT = datetime(2026, 11, 21, 13, 30, 0)
RESULT_URL = "https://fleet.example/api/method/tuktuk_management.api.balance.result?token=t"
TIMEOUT_URL = "https://fleet.example/api/method/tuktuk_management.api.balance.timeout?token=t"


class ChecksStandIn(DarajaStandIn):
	"""The shared stand-in plus Account Balance and Pull Transactions, in Daraja's shapes."""

	def __init__(self, server: HTTPServer):
		super().__init__(server)
		self.balances_kes: dict[str, Decimal] = {"Working Account": Decimal(0), "Utility Account": Decimal(0)}
		self.balance_requests: list[dict] = []
		self.pulled: list[dict] = []  # Pull Transactions entries
		self.pull_requests: list[dict] = []
		self.pull_registered = True
		self.page_size = 1000
		self._balance_ids = itertools.count(1)
		server.expect_request("/mpesa/accountbalance/v1/query", method="POST").respond_with_handler(
			self._balance
		)
		server.expect_request("/pulltransactions/v1/query", method="POST").respond_with_handler(self._pull)

	def _balance(self, request: Request) -> Response:
		if not self._authorized(request):
			return self._json({"errorCode": "404.001.04", "errorMessage": "Invalid Access Token"}, 401)
		body = request.get_json()
		with self.lock:
			self.balance_requests.append(body)
			number = next(self._balance_ids)
		return self._json(
			{
				"OriginatorConversationID": f"AB-{number}",
				"ConversationID": f"AG_AB_{number}",
				"ResponseCode": "0",
				"ResponseDescription": "Accept the service request successfully.",
			}
		)

	def balance_result_for(self, number: int, completed: datetime) -> dict:
		return pulls.balance_result_body(
			originator_conversation_id=f"AB-{number}",
			conversation_id=f"AG_AB_{number}",
			balances_kes=self.balances_kes,
			completed=completed.strftime("%Y%m%d%H%M%S"),
		)

	def _pull(self, request: Request) -> Response:
		if not self._authorized(request):
			return self._json({"errorCode": "404.001.04", "errorMessage": "Invalid Access Token"}, 401)
		body = request.get_json()
		with self.lock:
			self.pull_requests.append(body)
		if not self.pull_registered:
			return self._json(
				{"ResponseRefID": "x", "ResponseCode": "1001", "ResponseMessage": "Not registered"}
			)
		start = datetime.strptime(body["StartDate"], "%Y-%m-%d %H:%M:%S")
		end = datetime.strptime(body["EndDate"], "%Y-%m-%d %H:%M:%S")
		eat = [
			(e, datetime.fromisoformat(e["trxDate"].replace("Z", "")) + timedelta(hours=3))
			for e in self.pulled
		]
		window = [e for e, at in eat if start <= at <= end]
		offset = int(body["OffSetValue"])
		page = window[offset : offset + self.page_size]
		return self._json(
			{"ResponseRefID": "ref", "ResponseCode": "1000", "ResponseMessage": "Success", "Response": [page]}
		)


@pytest.fixture
def standin():
	server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
	server.start()
	clear_token_cache()
	try:
		yield ChecksStandIn(server)
	finally:
		clear_token_cache()
		server.clear()
		server.stop()


def settings(**values) -> config.StatementSettings:
	return config.StatementSettings(paybill=fixture.PAYBILL, **values)


def deliver_balance(db, body: dict, endpoint: str = balance.BALANCE_RESULT) -> balance.BalanceOutcome:
	log = store_callback(db, endpoint=endpoint, raw_body=json.dumps(body), received_at=AT)
	db.commit()
	outcome = balance.process_logged_result(db, log, json.dumps(body), endpoint=endpoint, now=AT)
	db.commit()
	return outcome


def check_row(db, name: str) -> dict:
	return db.sql(f"select * from `tab{balance.CHECK_DOCTYPE}` where name = %s", (name,), as_dict=True)[0]


def test_balance_check_matches_the_books_at_the_same_moment_and_flags_a_difference(db, standin):
	fixture.replay_day(db, fixture.Faults())
	client = DarajaClient(standin.config())
	completed = datetime(2030, 1, 1)  # after every posting
	books_kes = balance.books_balance_kes(db, completed)
	assert books_kes > 0
	offset = Decimal(250_000)
	standin.balances_kes["Utility Account"] = books_kes + offset
	standin.balances_kes["Working Account"] = Decimal(999)  # not compared
	current = settings(
		balance_check_enabled=True, paybill_balance_offset_kes=offset, balance_tolerance_kes=Decimal(100)
	)

	def request() -> str:
		return balance.request_check(
			db,
			client,
			settings=current,
			clock=lambda: AT,
			commit=db.commit,
			result_url=RESULT_URL,
			timeout_url=TIMEOUT_URL,
		)

	first = request()
	assert standin.balance_requests[-1]["CommandID"] == "AccountBalance"
	assert standin.balance_requests[-1]["PartyA"] == fixture.PAYBILL
	assert check_row(db, first)["status"] == balance.REQUESTED
	outcome = deliver_balance(db, standin.balance_result_for(1, completed))
	assert (outcome.check, outcome.check_status, outcome.difference_kes) == (first, balance.MATCHED, 0)
	row = check_row(db, first)
	assert Decimal(row["books_balance"]) == books_kes and Decimal(row["mpesa_balance"]) == books_kes + offset
	assert deliver_balance(db, standin.balance_result_for(1, completed)).status == balance.DUPLICATE

	standin.balances_kes["Utility Account"] = books_kes + offset + 120  # money the books do not know
	second = request()
	outcome = deliver_balance(db, standin.balance_result_for(2, completed))
	assert (outcome.check, outcome.check_status, outcome.difference_kes) == (second, balance.DIFFERENCE, 120)

	standin.balances_kes["Utility Account"] = books_kes + offset - 80  # within the tolerance
	third = request()
	assert deliver_balance(db, standin.balance_result_for(3, completed)).check_status == balance.MATCHED
	assert Decimal(check_row(db, third)["difference"]) == -80


def test_balance_at_a_moment_counts_only_postings_up_to_it(db, standin):
	fixture.replay_day(db, fixture.Faults())
	early = balance.books_balance_kes(db, datetime(2000, 1, 1))
	assert early == 0


def test_a_balance_result_before_the_reply_is_recorded_is_applied_later(db, standin):
	fixture.replay_day(db, fixture.Faults())
	body = standin.balance_result_for(1, datetime(2030, 1, 1))
	log = store_callback(db, endpoint=balance.BALANCE_RESULT, raw_body=json.dumps(body), received_at=AT)
	db.commit()
	early = balance.process_logged_result(db, log, json.dumps(body), endpoint=balance.BALANCE_RESULT, now=AT)
	db.commit()
	assert early.status == balance.LOG_FAILED
	client = DarajaClient(standin.config())
	name = balance.request_check(
		db,
		client,
		settings=settings(),
		clock=lambda: AT,
		commit=db.commit,
		result_url=RESULT_URL,
		timeout_url=TIMEOUT_URL,
	)
	((pending, endpoint, raw),) = balance.pending_result_logs(db)
	assert pending == log
	outcome = balance.process_logged_result(db, log, raw, endpoint=endpoint, now=AT)
	db.commit()
	assert outcome.check == name and outcome.check_status in (balance.MATCHED, balance.DIFFERENCE)
	assert balance.pending_result_logs(db) == []


def test_a_timeout_fails_the_check(db, standin):
	client = DarajaClient(standin.config())
	name = balance.request_check(
		db,
		client,
		settings=settings(),
		clock=lambda: AT,
		commit=db.commit,
		result_url=RESULT_URL,
		timeout_url=TIMEOUT_URL,
	)
	body = {
		"Result": {
			"ResultType": 0,
			"ResultCode": 1,
			"ResultDesc": "timed out",
			"OriginatorConversationID": "AB-1",
		}
	}
	assert deliver_balance(db, body, balance.BALANCE_TIMEOUT).check_status == balance.FAILED
	assert check_row(db, name)["status"] == balance.FAILED


def pulled_entries(day) -> list[dict]:
	return [
		{
			"transactionId": body["TransID"],
			"trxDate": (datetime.strptime(body["TransTime"], "%Y%m%d%H%M%S") - timedelta(hours=3)).strftime(
				"%Y-%m-%dT%H:%M:%SZ"
			),
			"msisdn": 722000000,
			"sender": "UNKNOWN",
			"transactiontype": "c2b-pay-bill-debit",
			"billreference": body["BillRefNumber"],
			"amount": body["TransAmount"],
			"organizationname": "TUKTUK FLEET",
		}
		for body in day.payments
	]


def test_pull_transactions_finds_missed_callbacks_and_recovery_clears_them(db, standin, monkeypatch):
	day = fixture.replay_day(db, fixture.Faults(dropped=5))
	standin.pulled = pulled_entries(day)
	standin.page_size = 100
	monkeypatch.setattr(pull, "PAGE_SIZE", 100)
	client = DarajaClient(standin.config())
	current = settings(pull_transactions_enabled=True, pull_lookback=timedelta(hours=23))
	evening = datetime(2026, 11, 21, 23, 30)

	first = pull.pull_and_match(db, client, settings=current, clock=lambda: evening, commit=db.commit)
	assert first["pulled"] == len(day.payments) and len(standin.pull_requests) == 3  # pages of 100
	assert standin.pull_requests[0]["StartDate"] == "2026-11-21 00:30:00"
	summary = first["summary"]
	assert summary["recoverable"]["count"] == 5 and summary["differences"] == 5
	assert summary["not_in_statement"]["count"] == 0  # payouts are not in a pull: not checked
	recovered = runner.recover_statement(db)
	assert sorted(r.receipt_no for r in recovered if r.applied) == sorted(day.dropped)

	again = pull.pull_and_match(db, client, settings=current, clock=lambda: evening, commit=db.commit)
	assert (again["lines_new"], again["summary"]["differences"]) == (0, 0)
	assert again["summary"]["outcomes"][match.MATCHED]["count"] == len(day.payments)


def test_pull_on_a_shortcode_not_registered_is_refused(db, standin):
	standin.pull_registered = False
	client = DarajaClient(standin.config())
	with pytest.raises(DarajaRejected):
		pull.pull_and_match(db, client, settings=settings(), clock=lambda: AT, commit=db.commit)
	assert db.sql("select count(*) from `tabTukTuk Statement Import`")[0][0] == 0


def test_pull_reply_and_balance_result_parsing():
	parsed = pulls.parse_pull_reply(
		{
			"Response": [
				[
					{
						"transactionId": "ABC1234567",
						"trxDate": "2026-11-21T07:16:26Z",
						"amount": "1,100",
						"billreference": "TT001",
					}
				]
			]
		}
	)
	assert parsed[0].completed_at == datetime(2026, 11, 21, 10, 16, 26) and parsed[0].amount_kes == Decimal(
		1100
	)
	with pytest.raises(ValueError, match="entry 0"):
		pulls.parse_pull_reply({"Response": [[{"trxDate": "x"}]]})
	result = pulls.parse_balance_result(
		pulls.balance_result_body(
			originator_conversation_id="AB-1",
			conversation_id="AG",
			balances_kes={"Utility Account": Decimal("228037.50")},
			completed="20261121101626",
		)
	)
	assert result.balances_kes == {"Utility Account": Decimal("228037.50")}
	assert result.completed_at == datetime(2026, 11, 21, 10, 16, 26)
