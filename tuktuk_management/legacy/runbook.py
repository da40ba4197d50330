"""The replies of the seed runbook's reconciliation console calls, shaped as its examples show.

Pure functions (no database): the whitelisted calls in :mod:`tuktuk_management.api.tuktuk`
gather the figures and return these shapes. The runbook's names and meanings:

- ``driver_name`` is the driver's ID (the TukTuk Driver document name, e.g. ``DRV-112001``) and
  ``driver`` the person's name (``John Doe``);
- ``old_balance`` is the cached ``current_balance``, ``calculated_balance`` its ledger sum
  (the whole ledger, never a time window), ``discrepancy`` = old − calculated;
- ``adjustment`` = old − new (the runbook's worked example: 2500 → 2350 is "adjusted 150");
- ``auto_fixed`` is a boolean (was fixing asked for), and every row of ``results`` carries
  ``driver_name``, ``driver``, ``discrepancy`` and ``fixed``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BalanceCheck:
	"""One driver's ``current_balance`` next to its ledger sum (whole KES)."""

	driver_name: str  # the ID
	driver: str  # the person's name
	old_balance: int
	calculated_balance: int

	@property
	def discrepancy(self) -> int:
		return self.old_balance - self.calculated_balance


def reconcile_reply(check: BalanceCheck, *, transactions_count: int, from_datetime: str) -> dict:
	"""``reconcile_driver_balance``'s reply."""
	if check.discrepancy == 0:
		message = "No discrepancy: the balance matches the ledger"
	else:
		word = "extra" if check.discrepancy > 0 else "missing"
		message = f"DISCREPANCY DETECTED: {abs(check.discrepancy)} KES {word}"
	return {
		"driver_name": check.driver_name,
		"driver": check.driver,
		"old_balance": check.old_balance,
		"calculated_balance": check.calculated_balance,
		"discrepancy": check.discrepancy,
		"transactions_count": transactions_count,
		"from_datetime": from_datetime,
		"message": message,
	}


def fix_reply(
	check: BalanceCheck, *, new_balance: int, transactions_count: int, fixed: bool, success: bool = True
) -> dict:
	"""``fix_driver_balance``'s reply; ``fixed`` False for a dry run (auto_fix false) or no drift."""
	old = check.old_balance
	if not check.discrepancy:
		message = "No fix needed: the balance is already correct"
	elif fixed:
		message = f"Balance fixed: {old} → {new_balance} (adjusted {old - new_balance} KES)"
	else:
		message = (
			f"Dry run: the balance would be fixed {old} → {check.calculated_balance} "
			f"(adjusted {check.discrepancy} KES); call again with auto_fix=True"
		)
	return {
		"success": success,
		"message": message,
		"driver_name": check.driver_name,
		"driver": check.driver,
		"old_balance": old,
		"new_balance": new_balance,
		"adjustment": old - new_balance,
		"transactions_count": transactions_count,
		"fixed": fixed,
	}


def all_drivers_reply(
	checks: list[BalanceCheck], *, total_drivers: int, auto_fix: bool, fixed: set[str], success: bool = True
) -> dict:
	"""``reconcile_all_drivers_balances``'s reply: one row per driver checked."""
	drifted = [c for c in checks if c.discrepancy]
	return {
		"success": success,
		"total_drivers": total_drivers,
		"drivers_checked": len(checks),
		"drivers_with_discrepancies": len(drifted),
		"total_discrepancy_amount": sum(abs(c.discrepancy) for c in drifted),
		"auto_fixed": auto_fix,
		"results": [
			{
				"driver_name": c.driver_name,
				"driver": c.driver,
				"old_balance": c.old_balance,
				"calculated_balance": c.calculated_balance,
				"discrepancy": c.discrepancy,
				"fixed": c.driver_name in fixed,
			}
			for c in checks
		],
	}


def fix_comment(fixes: list[dict], run: str) -> str:
	"""The comment a fix leaves on the driver: each field's old and new value, and the run.

	fixes: ``[{"field", "cached", "ledger", "difference"}]`` (the reconciliation's fixes).
	"""
	parts = [
		f"{fix['field']}: old {fix['cached']} KES, new {fix['ledger']} KES (adjusted {fix['difference']} KES)"
		for fix in fixes
	]
	return f"Balance reconciliation (run {run}) set the cached balances to their ledger sums. " + "; ".join(
		parts
	)
