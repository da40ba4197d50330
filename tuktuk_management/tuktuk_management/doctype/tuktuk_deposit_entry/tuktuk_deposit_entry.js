// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("TukTuk Deposit Entry", {
	refresh(frm) {
		if (frm.doc.docstatus === 1 && frm.doc.driver) {
			frm.add_custom_button(__("Deposit Report"), () =>
				frappe.set_route("query-report", "Deposit", { driver: frm.doc.driver })
			);
		}
	},
	kind(frm) {
		frm.toggle_reqd("reference", frm.doc.kind === "Cash Deposit");
		frm.toggle_reqd("reason", frm.doc.kind !== "Cash Deposit");
	},
});
