// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("TukTuk Driver", {
	refresh(frm) {
		if (frm.is_new()) {
			return;
		}
		frm.set_intro(
			__(
				"Balances are maintained by the ledger (M-Pesa payments, payouts, daily close) and cannot be edited here."
			),
			"blue"
		);
		const target = (frm.doc.__onload || {}).target_today_kes;
		if (target !== undefined) {
			frm.dashboard.add_indicator(
				__("Target today: {0} (rollover {1}), missed days in a row: {2}", [
					format_currency(target, "KES", 0),
					format_currency(frm.doc.target_rollover || 0, "KES", 0),
					frm.doc.consecutive_misses || 0,
				]),
				(frm.doc.consecutive_misses || 0) > 0 ? "orange" : "blue"
			);
		}
		if (frappe.user.has_role(["TukTuk Manager", "System Manager"])) {
			frm.add_custom_button(__("Reconcile Balances"), () => run_reconciliation(frm, 0), __("Ledger"));
			frm.add_custom_button(
				__("Fix Balances From Ledger"),
				() =>
					frappe.confirm(
						__("Set this driver's cached balances to their ledger sums? The change is recorded."),
						() => run_reconciliation(frm, 1)
					),
				__("Ledger")
			);
		}
	},
});

function run_reconciliation(frm, fix) {
	frappe
		.call({
			method: "tuktuk_management.api.reconciliation.run_reconciliation",
			args: { fix: fix, driver: frm.doc.name },
			freeze: true,
		})
		.then((r) => {
			const run = r.message;
			frappe.msgprint({
				title: __("Reconciliation: {0}", [__(run.status)]),
				message: __("Run {0}: {1} discrepancy(ies), {2} KES.", [
					`<a href="/app/tuktuk-reconciliation-run/${run.run}">${run.run}</a>`,
					run.discrepancies.length,
					run.total_discrepancy_kes,
				]),
				indicator: run.status === "Clean" ? "green" : "orange",
			});
			frm.reload_doc();
		});
}
