frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["TukTuk Target Attainment"] = {
	method: "tuktuk_management.api.dashboard.target_attainment_chart",
	filters: [],
};
