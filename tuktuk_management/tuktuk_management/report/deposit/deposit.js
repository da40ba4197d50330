// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

// Without a driver: who owes what. With a driver: the history of their deposit account.
frappe.query_reports["Deposit"] = {
	filters: [
		{ fieldname: "driver", label: __("Driver"), fieldtype: "Link", options: "TukTuk Driver" },
		{ fieldname: "only_short", label: __("Only Drivers Short"), fieldtype: "Check", depends_on: "eval:!doc.driver" },
		{ fieldname: "from_date", label: __("From Date"), fieldtype: "Date", depends_on: "driver" },
		{ fieldname: "to_date", label: __("To Date"), fieldtype: "Date", depends_on: "driver" },
	],
	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (column.fieldname === "shortfall_kes" && data && data.shortfall_kes > 0) {
			value = `<span style="color: var(--red-500)">${value}</span>`;
		}
		return value;
	},
};
