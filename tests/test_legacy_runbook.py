"""The runbook console calls' replies against the seed runbook's own examples, and the upgrade
check's text (pure functions, no database)."""

from __future__ import annotations

from tuktuk_management.legacy import runbook
from tuktuk_management.legacy.plan import Blocker, DriverPlan, UpgradePlan
from tuktuk_management.legacy.report import format_plan

# The runbook's worked example: DRV-112001 (John Doe) shows 2500, the transactions say 2350.
EXAMPLE = runbook.BalanceCheck("DRV-112001", "John Doe", 2500, 2350)


def test_reconcile_reply_is_the_runbook_example():
	reply = runbook.reconcile_reply(EXAMPLE, transactions_count=8, from_datetime="2025-12-07 06:00:00")
	assert reply == {
		"driver_name": "DRV-112001",
		"driver": "John Doe",
		"old_balance": 2500,
		"calculated_balance": 2350,
		"discrepancy": 150,
		"transactions_count": 8,
		"from_datetime": "2025-12-07 06:00:00",
		"message": "DISCREPANCY DETECTED: 150 KES extra",
	}


def test_fix_reply_is_the_runbook_example():
	reply = runbook.fix_reply(EXAMPLE, new_balance=2350, transactions_count=8, fixed=True)
	documented = {
		"success": True,
		"message": "Balance fixed: 2500 → 2350 (adjusted 150 KES)",
		"driver_name": "DRV-112001",
		"driver": "John Doe",
		"old_balance": 2500,
		"new_balance": 2350,
		"adjustment": 150,
		"transactions_count": 8,
	}
	assert {key: reply[key] for key in documented} == documented
	assert reply["fixed"] is True
	dry = runbook.fix_reply(EXAMPLE, new_balance=2500, transactions_count=8, fixed=False)
	assert (dry["new_balance"], dry["adjustment"], dry["fixed"]) == (2500, 0, False)
	assert dry["message"].startswith("Dry run: the balance would be fixed 2500 → 2350 (adjusted 150 KES)")


def test_all_drivers_reply_has_the_runbook_keys_and_rows():
	checks = [
		EXAMPLE,
		runbook.BalanceCheck("DRV-112002", "Mary Wanjiru", 900, 1200),
		runbook.BalanceCheck("DRV-112003", "Ali", 0, 0),
	]
	reply = runbook.all_drivers_reply(
		checks, total_drivers=25, auto_fix=True, fixed={"DRV-112001", "DRV-112002"}
	)
	assert set(reply) == {
		"success",
		"total_drivers",
		"drivers_checked",
		"drivers_with_discrepancies",
		"total_discrepancy_amount",
		"auto_fixed",
		"results",
	}
	assert (reply["total_drivers"], reply["drivers_checked"], reply["drivers_with_discrepancies"]) == (
		25,
		3,
		2,
	)
	assert reply["total_discrepancy_amount"] == 450  # |150| + |-300|
	assert reply["auto_fixed"] is True
	assert reply["results"][0] == {
		"driver_name": "DRV-112001",
		"driver": "John Doe",
		"old_balance": 2500,
		"calculated_balance": 2350,
		"discrepancy": 150,
		"fixed": True,
	}
	# The runbook's own loop runs on these rows.
	printed = [
		f"{row['driver']}: {row['discrepancy']} KSH" for row in reply["results"] if row["discrepancy"] != 0
	]
	assert printed == ["John Doe: 150 KSH", "Mary Wanjiru: -300 KSH"]


def test_fix_comment_names_old_and_new_values():
	text = runbook.fix_comment(
		[{"field": "current_balance", "cached": 2500, "ledger": 2350, "difference": 150}], "RUN-1"
	)
	assert "current_balance: old 2500 KES, new 2350 KES (adjusted 150 KES)" in text and "RUN-1" in text


def test_upgrade_check_text_lists_blockers_first():
	plan = UpgradePlan(
		is_legacy=True,
		blockers=[Blocker("TukTuk Vehicle.mpesa_account", "001", ("TUK-885-001", "TUK-885-004"))],
		drivers=[
			DriverPlan("DRV-112001", 1200, 500, 150, 0, 4500, True, 0, 1500, 1, False, None, False),
		],
		global_daily_target_kes=3000,
	)
	text = format_plan(plan)
	assert text.splitlines()[0].startswith("BLOCKERS (1)")
	assert "TukTuk Vehicle TUK-885-001, TUK-885-004 share mpesa_account '001'" in text
	assert "DRV-112001: target 1200 KES, deposit 500 KES, payable 150 KES" in text
	assert "target_rollover 1500 KES, consecutive_misses 1" in text
	assert format_plan(UpgradePlan(is_legacy=False)).startswith(
		"This site holds no data from the original app"
	)
