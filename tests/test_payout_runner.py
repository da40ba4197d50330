"""The standalone runner delivers B2C results as the result endpoint does (``cli results``)."""

from __future__ import annotations

import json

from tests.daraja_standin import daraja  # a fixture
from tests.factories import c2b_body, driver_state, make_driver, make_vehicle, raw
from tuktuk_management import cli
from tuktuk_management.daraja.client import DarajaClient
from tuktuk_management.ledger import c2b, payouts
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings


def test_results_command_pays_once(db, db_url, now, daraja, tmp_path, capsys):  # noqa: F811
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", daily_target=100, fare_percentage=50)
	db.commit()
	outcome = c2b.process_confirmation(db, raw(c2b_body("TT001", 100)), settings=load_settings(db), now=now)
	db.commit()
	client = DarajaClient(daraja.config(), sleep=lambda _s: None)
	payouts.send_payout(
		db, outcome.payout, client=client, settings=load_settings(db), clock=lambda: now, commit=db.commit
	)
	result = json.dumps(daraja.result_for(f"TTK-{outcome.payout}"))
	path = tmp_path / "results.jsonl"
	path.write_text(f"{result}\n{result}\n\nnot json\n")
	url = f"mysql://{db_url.user}@{db_url.host}:{db_url.port}/{db_url.database}"
	assert cli.main(["--db-url", url, "results", str(path)]) == cli.EXIT_CLEAN
	summary = json.loads(capsys.readouterr().out)
	assert summary == {"received": 3, "Processed": 1, "Duplicate": 1, "Invalid": 1, "payouts": {"Paid": 1}}
	db.rollback()
	assert driver_state(db, "D000001")["payout_pending"] == 0
	assert check_books(db).clean
