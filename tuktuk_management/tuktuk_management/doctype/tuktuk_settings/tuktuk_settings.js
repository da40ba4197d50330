// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("TukTuk Settings", {
	onload(frm) {
		frappe.call("frappe.core.doctype.user.user.get_timezones").then((r) => {
			frm.set_df_property("operating_timezone", "options", r.message.timezones);
		});
	},
	refresh(frm) {
		if (frm.doc.accept_legacy_callback_urls) {
			frm.dashboard.set_headline_alert(
				__(
					"Callbacks at the original app's URLs are accepted without a token. Register the new URLs (bench --site SITE tuktuk-register-urls), then turn Accept Legacy Callback URLs off."
				),
				"orange"
			);
		}
		if (frappe.user.has_role(["TukTuk Manager", "System Manager"])) {
			frm.add_custom_button(__("Run Reconciliation Now"), () => {
				frappe
					.call({
						method: "tuktuk_management.api.reconciliation.run_reconciliation",
						args: { fix: 0 },
						freeze: true,
						freeze_message: __("Checking every driver against the ledger..."),
					})
					.then((r) => {
						frappe.set_route("Form", "TukTuk Reconciliation Run", r.message.run);
					});
			});
			frm.add_custom_button(__("Balance Reconciliation Report"), () =>
				frappe.set_route("query-report", "Balance Reconciliation")
			);
		}
	},
});
