// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.query_reports["Driver Statement"] = {
	filters: [
		{
			fieldname: "driver",
			label: __("Driver"),
			fieldtype: "Link",
			options: "TukTuk Driver",
		},
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.add_days(frappe.datetime.get_today(), -30),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
			reqd: 1,
		},
	],
	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (data && data.bold) {
			value = `<b>${value}</b>`;
		}
		return value;
	},
};
