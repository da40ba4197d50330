// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("TukTuk Settings", {
	onload(frm) {
		frappe.call("frappe.core.doctype.user.user.get_timezones").then((r) => {
			frm.set_df_property("operating_timezone", "options", r.message.timezones);
		});
	},
});
