// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

// Approve / Reject (managers) and Cancel Request (the driver) call tuktuk_management.api.days_off.
frappe.ui.form.on("TukTuk Day Off", {
	refresh(frm) {
		if (frm.is_new() || frm.doc.status !== "Requested") return;
		const is_manager = frappe.user.has_role("TukTuk Manager") || frappe.user.has_role("System Manager");
		if (is_manager) {
			frm.add_custom_button(__("Approve"), () => tuktuk_day_off.approve([frm.doc.name], () => frm.reload_doc()));
			frm.add_custom_button(__("Reject"), () => tuktuk_day_off.reject([frm.doc.name], () => frm.reload_doc()));
		} else {
			frm.add_custom_button(__("Cancel Request"), () =>
				frappe
					.call({
						method: "tuktuk_management.api.days_off.cancel_day_off_request",
						args: { name: frm.doc.name },
						freeze: true,
					})
					.then(() => frm.reload_doc())
			);
		}
	},
});

window.tuktuk_day_off = window.tuktuk_day_off || {
	approve(names, done) {
		frappe
			.call({ method: "tuktuk_management.api.days_off.approve_days_off", args: { names }, freeze: true })
			.then((r) => {
				frappe.show_alert({ message: __("{0} day(s) off approved", [r.message.approved]), indicator: "green" });
				done && done();
			});
	},
	reject(names, done) {
		frappe.prompt(
			{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason"), reqd: 1 },
			({ reason }) =>
				frappe
					.call({
						method: "tuktuk_management.api.days_off.reject_days_off",
						args: { names, reason },
						freeze: true,
					})
					.then((r) => {
						frappe.show_alert({ message: __("{0} day(s) off rejected", [r.message.rejected]), indicator: "orange" });
						done && done();
					}),
			__("Reject Day Off"),
			__("Reject")
		);
	},
};
