"""The runner's statement commands as a user runs them: subprocesses, JSON, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests import statement_fixture as fixture

ROOT = Path(__file__).resolve().parent.parent


def run(db_url, *args):
	url = f"mysql://{db_url.user}@{db_url.host}:{db_url.port}/{db_url.database}"
	return subprocess.run(
		[sys.executable, "-m", "tuktuk_management.cli", "--db-url", url, *args],
		cwd=ROOT,
		capture_output=True,
		text=True,
		timeout=300,
	)


def test_import_match_recover_loop_without_frappe(db, db_url, tmp_path):
	faults = fixture.Faults(dropped=3, results_lost=1)
	day = fixture.replay_day(db, faults)
	statement = tmp_path / "statement.csv"
	statement.write_text(fixture.day_statement(db, day, faults))
	db.rollback()

	imported = run(db_url, "import-statement", str(statement))
	assert imported.returncode == 0, imported.stderr
	first = json.loads(imported.stdout)
	assert first["lines_new"] == first["lines_read"] > 0 and first["lines_existing"] == 0
	again = json.loads(run(db_url, "import-statement", str(statement)).stdout)
	assert (again["lines_new"], again["lines_existing"]) == (0, first["lines_read"])

	matched = run(db_url, "match", "--import", first["statement_import"])
	assert matched.returncode == 1, matched.stderr
	summary = json.loads(matched.stdout)
	assert summary["recoverable"]["count"] == 3 and summary["payouts_to_settle"]["count"] == 1
	missing_kes = sum(int(float(p["TransAmount"])) for p in day.payments if p["TransID"] in day.dropped)
	assert summary["recoverable"]["amount_kes"] == missing_kes

	recovered = run(db_url, "recover")
	assert recovered.returncode == 0, recovered.stderr
	report = json.loads(recovered.stdout)
	assert report["applied"] == 4 and report["applied_kes"] >= missing_kes
	assert json.loads(run(db_url, "recover").stdout)["applied"] == 0

	final = run(db_url, "match")
	assert final.returncode == 0, final.stdout
	assert json.loads(final.stdout)["all_matched"] is True


def test_a_malformed_statement_exits_2_naming_the_line_and_stores_nothing(db, db_url, tmp_path):
	statement = tmp_path / "bad.csv"
	statement.write_text(
		"Receipt No.,Completion Time,Details,Paid In,Withdrawn,A/C No.\n"
		"TKL0000001,21-11-2026 10:16:26,Pay Bill,100.00,,TT001\n"
		"TKL0000002,21-11-2026 10:16:27,Pay Bill,1O0.00,,TT001\n"
	)
	result = run(db_url, "import-statement", str(statement))
	assert result.returncode == 2
	assert json.loads(result.stderr)["errors"] == ["line 3: Paid In: not an amount: '1O0.00'"]
	db.rollback()
	assert db.sql("select count(*) from `tabTukTuk Statement Line`")[0][0] == 0
	assert run(db_url, "match", "--import", "nosuchimport").returncode == 2
