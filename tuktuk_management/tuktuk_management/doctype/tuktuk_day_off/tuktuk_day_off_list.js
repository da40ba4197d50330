// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

// Status colours, and Approve / Reject for the selected Requested days off (managers).
frappe.listview_settings["TukTuk Day Off"] = {
	add_fields: ["status"],
	get_indicator(doc) {
		const colours = { Requested: "orange", Approved: "green", Rejected: "red", Cancelled: "gray" };
		return [__(doc.status), colours[doc.status] || "gray", "status,=," + doc.status];
	},
	onload(listview) {
		if (!(frappe.user.has_role("TukTuk Manager") || frappe.user.has_role("System Manager"))) return;
		const selected = () => listview.get_checked_items().filter((d) => d.status === "Requested").map((d) => d.name);
		const call = (method, args) =>
			frappe.call({ method, args, freeze: true }).then(() => listview.refresh());
		listview.page.add_action_item(__("Approve"), () => {
			const names = selected();
			if (!names.length) return frappe.msgprint(__("Select Requested days off."));
			call("tuktuk_management.api.days_off.approve_days_off", { names });
		});
		listview.page.add_action_item(__("Reject"), () => {
			const names = selected();
			if (!names.length) return frappe.msgprint(__("Select Requested days off."));
			frappe.prompt(
				{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason"), reqd: 1 },
				({ reason }) => call("tuktuk_management.api.days_off.reject_days_off", { names, reason }),
				__("Reject Day Off"),
				__("Reject")
			);
		});
		listview.page.add_inner_button(__("Roster"), () => frappe.set_route("query-report", "Driver Roster"));
	},
};
