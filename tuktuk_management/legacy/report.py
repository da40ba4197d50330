"""The upgrade plan as text for a person (``bench --site SITE tuktuk-upgrade-check``)."""

from __future__ import annotations

from tuktuk_management.legacy.plan import UpgradePlan

DRIVER_LINES_MAX = 500


def format_plan(plan: UpgradePlan) -> str:
	"""Every action the upgrade will take and every blocker, one line each (blockers first)."""
	if not plan.is_legacy:
		return "This site holds no data from the original app: there is nothing to upgrade."
	lines = []
	if plan.blockers:
		lines.append(f"BLOCKERS ({len(plan.blockers)}): the migration will stop before changing anything.")
		lines += [f"  - {blocker.message}" for blocker in plan.blockers]
	else:
		lines.append("No blockers: the site is ready for the upgrade.")
	if plan.migrated_at:
		lines.append(f"Already migrated at {plan.migrated_at}; a new run changes only what is still missing.")
	lines.append(f"Opening vouchers against the opening account: {len(plan.openings)} drivers")
	for driver in plan.openings[:DRIVER_LINES_MAX]:
		lines.append(
			f"  {driver.driver}: target {driver.current_balance_kes} KES, deposit {driver.deposit_kes} KES, "
			f"payable {driver.payable_kes} KES (unpaid share {driver.unpaid_share_kes}, pending refund "
			f"{driver.pending_refund_kes})"
		)
	lines.append(f"Rollover taken out of daily_target: {len(plan.rollovers)} drivers")
	for driver in plan.rollovers[:DRIVER_LINES_MAX]:
		lines.append(
			f"  {driver.driver}: daily_target {driver.legacy_daily_target_kes} -> {driver.daily_target_kes} "
			f"(0 = global {plan.global_daily_target_kes}), target_rollover {driver.target_rollover_kes} KES, "
			f"consecutive_misses {driver.consecutive_misses}"
		)
	terminated = [d.driver for d in plan.drivers if d.terminated]
	lines.append(f"Terminated drivers set Inactive: {len(terminated)} {', '.join(terminated[:50])}".rstrip())
	if plan.archived_refunds:
		lines.append(
			"Archived drivers restored as Inactive to carry a pending deposit refund into payable: "
			+ ", ".join(f"{driver} ({amount} KES)" for driver, amount in plan.archived_refunds)
		)
	users = [d for d in plan.drivers if d.user]
	lines.append(f"Driver user links copied (user_account -> user): {len(users)}")
	lines.append(f"Transactions marked pre-ledger (kept read-only, no postings): {plan.transactions_to_mark}")
	if plan.vehicles_to_map:
		mapped = ", ".join(
			f"{status or '(empty)'}: {count}" for status, count in sorted(plan.vehicles_to_map.items())
		)
		lines.append(f"Vehicle statuses mapped to Active/Maintenance: {mapped}")
	for old, new in plan.role_renames:
		lines.append(f"Role renamed: {old} -> {new} (with every user and permission that names it)")
	lines.append(f"Roles granted: {len(plan.role_grants)}")
	lines += [f"  {user}: {new} (holds {old})" for user, old, new in plan.role_grants]
	for old, new in plan.settings_copies:
		lines.append(f"Setting copied: {old} -> {new}" if old else f"Setting set: {new}")
	if plan.callback_token_missing:
		lines.append("A random callback_token will be created.")
	lines.append("Legacy callback URLs will be accepted until turned off in TukTuk Settings.")
	if plan.conflicting_custom_fields:
		lines.append(
			"Custom Field records removed (this app defines the field; column and values stay): "
			+ ", ".join(plan.conflicting_custom_fields)
		)
	if plan.kept_tables:
		kept = ", ".join(f"{doctype} ({rows} rows)" for doctype, rows in sorted(plan.kept_tables.items()))
		lines.append(f"Tables of the original's other DocTypes, kept untouched: {kept}")
	if plan.warnings:
		lines.append(f"Warnings ({len(plan.warnings)}):")
		lines += [f"  - {warning}" for warning in plan.warnings]
	return "\n".join(lines)
