// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

// Approve / Reject for managers while a request waits (api/withdrawals.py checks the role).
frappe.ui.form.on("TukTuk Withdrawal Request", {
	refresh(frm) {
		frm.disable_save(); // written only by the withdrawal, pay-now and sweep flows
		if (frm.doc.status !== "Requested" || !frappe.user.has_role(["TukTuk Manager", "System Manager"])) {
			return;
		}
		frm.add_custom_button(__("Approve and Pay"), () =>
			frappe.confirm(
				__("Pay {0} to {1} by M-Pesa?", [format_currency(frm.doc.amount_kes, "KES"), frm.doc.driver]),
				() =>
					frappe
						.call({
							method: "tuktuk_management.api.withdrawals.approve_withdrawal",
							args: { name: frm.doc.name },
							freeze: true,
						})
						.then(() => frm.reload_doc())
			)
		);
		frm.add_custom_button(__("Reject"), () =>
			frappe.prompt(
				{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason"), reqd: 1 },
				({ reason }) =>
					frappe
						.call({
							method: "tuktuk_management.api.withdrawals.reject_withdrawal",
							args: { name: frm.doc.name, reason },
							freeze: true,
						})
						.then(() => frm.reload_doc()),
				__("Reject Withdrawal Request"),
				__("Reject")
			)
		);
	},
});
