// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.listview_settings["TukTuk Payout"] = {
	add_fields: ["status"],
	get_indicator(doc) {
		const colour = {
			Queued: "blue",
			Sent: "cyan",
			Paid: "green",
			Failed: "red",
			Unknown: "orange",
			Cancelled: "gray",
		}[doc.status];
		return [__(doc.status), colour || "gray", `status,=,${doc.status}`];
	},
};
