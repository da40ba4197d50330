// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.query_reports["Balance Reconciliation"] = {
	filters: [
		{
			fieldname: "driver",
			label: __("Driver"),
			fieldtype: "Link",
			options: "TukTuk Driver",
		},
		{
			fieldname: "only_discrepancies",
			label: __("Only Discrepancies"),
			fieldtype: "Check",
			default: 0,
		},
	],
	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (column.fieldname === "status" && data && data.status !== __("OK")) {
			value = `<span style="color: var(--red-600)">${value}</span>`;
		}
		return value;
	},
	onload(report) {
		if (frappe.user.has_role(["TukTuk Manager", "System Manager"])) {
			report.page.add_inner_button(__("Run Reconciliation"), () => {
				frappe
					.call({
						method: "tuktuk_management.api.reconciliation.run_reconciliation",
						args: { fix: 0, driver: report.get_filter_value("driver") || null },
						freeze: true,
					})
					.then((r) => {
						frappe.msgprint(__("Reconciliation run {0}: {1}", [r.message.run, r.message.status]));
						report.refresh();
					});
			});
		}
	},
};
