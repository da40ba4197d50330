// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("TukTuk Statement Import", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Statement Reconciliation"), () => {
			frappe.set_route("query-report", "Statement Reconciliation", {
				statement_import: frm.doc.name,
			});
		});
		frm.add_custom_button(__("Match Again"), () => {
			frappe
				.xcall("tuktuk_management.api.statement.match_statement", {
					statement_import: frm.doc.name,
				})
				.then((summary) => {
					frappe.show_alert({
						message: __("{0} difference(s)", [summary.differences]),
						indicator: summary.all_matched ? "green" : "orange",
					});
					frm.reload_doc();
				});
		});
	},
});
