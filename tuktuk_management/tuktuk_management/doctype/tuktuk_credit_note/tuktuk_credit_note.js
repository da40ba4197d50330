// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("TukTuk Credit Note", {
	setup(frm) {
		// A payment reversal picks one of the driver's payments that still has something to reverse.
		frm.set_query("transaction", () => ({
			filters: {
				payment_status: ["in", ["Completed", "Allocated", "Partly Reversed"]],
				...(frm.doc.driver ? { driver: frm.doc.driver } : {}),
			},
		}));
	},
	refresh(frm) {
		if (frm.doc.docstatus === 0) {
			frm.set_intro(
				__("Submitting posts this correction to the ledger; cancelling appends its reversal."),
				"blue"
			);
		}
	},
});
