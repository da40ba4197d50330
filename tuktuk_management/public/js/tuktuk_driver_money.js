// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

// Paying out what is owed and deposits, on the TukTuk Driver form (managers): "Pay now" (all that
// is available, or part of it: one payout, api/withdrawals.py refuses a second click for the same
// money), "Record Deposit" (a new TukTuk Deposit Entry) and the Deposit report.

frappe.ui.form.on("TukTuk Driver", {
	refresh(frm) {
		if (frm.is_new() || !frappe.user.has_role(["TukTuk Manager", "System Manager"])) return;
		const group = __("Money");
		if (frm.doc.status !== "Terminated") {
			frm.add_custom_button(__("Pay Now"), () => tuktuk_pay_now(frm), group);
		}
		frm.add_custom_button(
			__("Record Deposit"),
			() => frappe.new_doc("TukTuk Deposit Entry", { driver: frm.doc.name, kind: "Cash Deposit" }),
			group
		);
		frm.add_custom_button(
			__("Deposit History"),
			() => frappe.set_route("query-report", "Deposit", { driver: frm.doc.name }),
			group
		);
	},
});

function tuktuk_pay_now(frm) {
	frappe
		.xcall("tuktuk_management.api.withdrawals.payable_summary", { driver: frm.doc.name })
		.then((summary) => {
			const kes = (amount) => format_currency(amount, "KES", 0);
			if (!summary.available_kes) {
				frappe.msgprint(
					__("Nothing to pay now: payable {0} is already on its way in payouts or waiting requests.", [
						kes(summary.payable_kes),
					])
				);
				return;
			}
			const dialog = new frappe.ui.Dialog({
				title: __("Pay {0} now", [frm.doc.driver_name || frm.doc.name]),
				fields: [
					{
						fieldtype: "HTML",
						options: `<p>${__("Payable {0}; available to pay now {1}.", [
							kes(summary.payable_kes),
							`<b>${kes(summary.available_kes)}</b>`,
						])}${summary.waiting_requests ? " " + __("{0} withdrawal request(s) wait for approval.", [summary.waiting_requests]) : ""}</p>`,
					},
					{
						fieldname: "amount_kes",
						fieldtype: "Currency",
						label: __("Amount (KES)"),
						default: summary.available_kes,
						reqd: 1,
						description: __("Whole shillings; at most the amount available."),
					},
				],
				primary_action_label: __("Pay by M-Pesa"),
				primary_action({ amount_kes }) {
					dialog.disable_primary_action();
					frappe
						.xcall("tuktuk_management.api.withdrawals.pay_now", { driver: frm.doc.name, amount_kes })
						.then((result) => {
							dialog.hide();
							frappe.show_alert({
								message: __("Payout {0} of {1} queued.", [result.payout, kes(result.amount_kes)]),
								indicator: "green",
							});
							frm.reload_doc();
						})
						.finally(() => dialog.enable_primary_action());
				},
			});
			dialog.show();
		});
}
