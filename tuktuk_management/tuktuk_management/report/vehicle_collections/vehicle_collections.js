// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.query_reports["Vehicle Collections"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.add_days(frappe.datetime.get_today(), -6),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
			reqd: 1,
		},
		{
			fieldname: "tuktuk",
			label: __("Vehicle"),
			fieldtype: "Link",
			options: "TukTuk Vehicle",
		},
		{
			fieldname: "each_payment",
			label: __("Each Payment (the vehicle's statement)"),
			fieldtype: "Check",
			depends_on: "eval:doc.tuktuk",
		},
	],
};
