// While TukTuk Settings accepts the original app's callback URLs (which carry no token), remind
// managers on every desk load and on the settings form (frappe.boot.tuktuk_legacy_callback_urls
// comes from tuktuk_management.legacy_desk.boot_session).
$(document).on("app_ready", () => {
	if (!frappe.boot.tuktuk_legacy_callback_urls) return;
	frappe.show_alert(
		{
			message: __(
				"TukTuk Settings still accepts the original app's callback URLs, which carry no token. Register the new URLs (bench tuktuk-register-urls) and turn Accept Legacy Callback URLs off."
			),
			indicator: "orange",
		},
		20
	);
});
