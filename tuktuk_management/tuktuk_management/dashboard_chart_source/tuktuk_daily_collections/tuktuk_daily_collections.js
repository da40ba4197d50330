frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["TukTuk Daily Collections"] = {
	method: "tuktuk_management.api.dashboard.daily_collections_chart",
	filters: [],
};
