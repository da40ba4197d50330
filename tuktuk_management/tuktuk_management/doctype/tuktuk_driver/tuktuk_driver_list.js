// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

// On target / behind / at the miss limit (TukTuk Settings miss_limit, default 3, 0 = no alert), for Active
// drivers; other drivers show their status.
frappe.listview_settings["TukTuk Driver"] = {
	add_fields: ["status", "left_to_target", "consecutive_misses"],
	miss_limit: 3,
	onload(listview) {
		frappe.xcall("tuktuk_management.api.dashboard.desk_context").then((context) => {
			frappe.listview_settings["TukTuk Driver"].miss_limit = context.miss_limit;
			listview.refresh();
		});
	},
	get_indicator(doc) {
		if (doc.status !== "Active") {
			return [__(doc.status || "Inactive"), "gray", `status,=,${doc.status}`];
		}
		const limit = frappe.listview_settings["TukTuk Driver"].miss_limit;
		if (limit > 0 && doc.consecutive_misses >= limit) {
			return [__("At Miss Limit"), "red", `consecutive_misses,>=,${limit}`];
		}
		if (doc.left_to_target <= 0) {
			return [__("On Target"), "green", "left_to_target,=,0"];
		}
		return [__("Behind Target"), "orange", "left_to_target,>,0"];
	},
};
