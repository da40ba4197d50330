// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("TukTuk Payout", {
	refresh(frm) {
		const managers = ["TukTuk Manager", "System Manager"];
		const is_manager = managers.some((role) => frappe.user.has_role(role));
		if (!is_manager || frm.is_new()) return;

		if (["Queued", "Failed", "Unknown", "Sent"].includes(frm.doc.status)) {
			const label = ["Unknown", "Sent"].includes(frm.doc.status)
				? __("Check with Daraja")
				: __("Retry");
			frm.add_custom_button(label, () => {
				frappe.confirm(
					frm.doc.status === "Failed"
						? __("Send this payout again as a new M-Pesa request?")
						: __("Ask Daraja about this payout now? It is never paid twice."),
					() =>
						frappe
							.call({
								method: "tuktuk_management.api.payouts.retry_payout",
								args: { payout: frm.doc.name },
								freeze: true,
							})
							.then(() => {
								frappe.show_alert({ message: __("Queued; refresh in a moment."), indicator: "blue" });
								frm.reload_doc();
							})
				);
			});
		}

		if (["Queued", "Failed"].includes(frm.doc.status)) {
			frm.add_custom_button(__("Cancel Payout"), () => {
				frappe.prompt(
					{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason"), reqd: 1 },
					(values) =>
						frappe
							.call({
								method: "tuktuk_management.api.payouts.cancel_payout",
								args: { payout: frm.doc.name, reason: values.reason },
								freeze: true,
							})
							.then(() => frm.reload_doc()),
					__("Cancel Payout"),
					__("Cancel Payout")
				);
			});
		}

		if (frm.doc.status === "Failed" && frm.doc.final_failure) {
			frm.set_intro(
				__("Daraja's answer means an automatic resend cannot succeed. Fix the cause (for example the driver's M-Pesa number), then Retry."),
				"orange"
			);
		}
	},
});
