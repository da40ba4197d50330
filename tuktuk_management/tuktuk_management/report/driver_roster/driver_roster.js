// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

// Who works on which date, by the daily close's rule. Day Off List approves / rejects requests;
// New Day Off enters one for a driver (then Approve on its form).
const TUKTUK_ROSTER_COLOURS = {
	Working: "green",
	"Day Off": "blue",
	Requested: "orange",
	Standby: "gray",
	Unassigned: "gray",
};

frappe.query_reports["Driver Roster"] = {
	filters: [
		{ fieldname: "from_date", label: __("From"), fieldtype: "Date", default: frappe.datetime.get_today(), reqd: 1 },
		{ fieldname: "days", label: __("Days"), fieldtype: "Select", options: ["7", "14"], default: "7" },
		{ fieldname: "driver", label: __("Driver"), fieldtype: "Link", options: "TukTuk Driver" },
		{ fieldname: "vehicle", label: __("Vehicle"), fieldtype: "Link", options: "TukTuk Vehicle" },
	],
	formatter(value, row, column, data, default_formatter) {
		const formatted = default_formatter(value, row, column, data);
		if (!column.fieldname.startsWith("d_") || !value) return formatted;
		let colour = TUKTUK_ROSTER_COLOURS[value];
		if (!colour) colour = value.startsWith("Substitute") || value.startsWith("Driving") ? "purple" : "red";
		return `<span class="indicator-pill ${colour}">${formatted}</span>`;
	},
	onload(report) {
		report.page.add_inner_button(__("Day Off List"), () =>
			frappe.set_route("List", "TukTuk Day Off", { status: "Requested" })
		);
		report.page.add_inner_button(__("New Day Off"), () => frappe.new_doc("TukTuk Day Off"));
	},
};
