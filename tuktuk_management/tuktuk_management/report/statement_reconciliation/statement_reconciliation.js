// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

// Recover: missed paybill payments go through the C2B confirmation path (idempotent on the
// TransID), payouts the statement proves paid are settled through the payout lifecycle. Running
// it twice changes nothing.
frappe.query_reports["Statement Reconciliation"] = {
	filters: [
		{
			fieldname: "statement_import",
			label: __("Statement Import"),
			fieldtype: "Link",
			options: "TukTuk Statement Import",
		},
		{ fieldname: "from_date", label: __("From Date"), fieldtype: "Date", default: frappe.datetime.add_days(frappe.datetime.get_today(), -1) },
		{ fieldname: "to_date", label: __("To Date"), fieldtype: "Date", default: frappe.datetime.get_today() },
		{
			fieldname: "match_status",
			label: __("Outcome"),
			fieldtype: "Select",
			options: [
				"",
				"Matched",
				"Differs",
				"Not in Books",
				"Payout Unsettled",
				"Paid Twice",
				"Charge Posted",
				"Ignored",
				"Not in Statement",
			].join("\n"),
		},
		{ fieldname: "show_matched", label: __("Show Matched Lines"), fieldtype: "Check", default: 0 },
	],
	get_datatable_options(options) {
		return Object.assign(options, { checkboxColumn: true });
	},
	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (column.fieldname === "match_status" && data) {
			const colour = {
				Matched: "green",
				"Charge Posted": "green",
				Ignored: "gray",
				"Not in Books": "orange",
				"Payout Unsettled": "orange",
			}[data.match_status] || "red";
			value = `<span class="indicator-pill ${colour}">${value}</span>`;
		}
		return value;
	},
	onload(report) {
		const allowed = ["TukTuk Manager", "TukTuk Accountant", "System Manager"].some((role) =>
			frappe.user.has_role(role)
		);
		if (!allowed) return;
		report.page.add_inner_button(__("Recover Selected"), () => tuktuk_statement_recover(report, true));
		report.page.add_inner_button(__("Recover All Proposed"), () => tuktuk_statement_recover(report, false));
		report.page.add_inner_button(__("Match Again"), () => {
			frappe
				.xcall("tuktuk_management.api.statement.match_statement", {
					statement_import: report.get_filter_value("statement_import") || null,
				})
				.then((summary) => {
					frappe.show_alert({
						message: __("{0} difference(s)", [summary.differences]),
						indicator: summary.all_matched ? "green" : "orange",
					});
					report.refresh();
				});
		});
	},
};

function tuktuk_statement_recover(report, selected) {
	let lines = null;
	if (selected) {
		const datatable = report.datatable;
		const rows = datatable
			? datatable.rowmanager.getCheckedRows().map((index) => datatable.datamanager.data[index])
			: [];
		lines = rows
			.filter((row) => row.line && ["Not in Books", "Payout Unsettled"].includes(row.match_status))
			.map((row) => row.line);
		if (!lines.length) {
			frappe.msgprint(__("Tick lines that are Not in Books (payments) or Payout Unsettled."));
			return;
		}
	}
	frappe.confirm(
		selected
			? __("Recover {0} line(s) from the statement?", [lines.length])
			: __("Recover every proposed line from the statement?"),
		() => {
			frappe
				.xcall("tuktuk_management.api.statement.recover_lines", { lines: lines ? JSON.stringify(lines) : null })
				.then((result) => {
					frappe.msgprint(
						__("{0} recovery(ies) applied, KES {1}. Lines already recovered were left alone.", [
							result.applied,
							format_number(result.applied_kes, null, 0),
						])
					);
					report.refresh();
				});
		}
	);
}
