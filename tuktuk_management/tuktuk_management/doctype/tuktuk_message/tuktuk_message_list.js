// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.listview_settings["TukTuk Message"] = {
	add_fields: ["status"],
	get_indicator(doc) {
		const colour = { Queued: "blue", Sending: "cyan", Sent: "green", Failed: "red", Skipped: "gray" }[
			doc.status
		];
		return [__(doc.status), colour || "gray", `status,=,${doc.status}`];
	},
	onload(listview) {
		if (!frappe.user.has_role(["TukTuk Manager", "System Manager"])) return;
		listview.page.add_inner_button(__("Broadcast"), () => tuktuk_broadcast_dialog());
	},
};

function tuktuk_broadcast_dialog() {
	const broadcast_id = frappe.utils.get_random(10);
	const dialog = new frappe.ui.Dialog({
		title: __("Broadcast to drivers"),
		fields: [
			{ fieldname: "text", fieldtype: "Small Text", label: __("Text"), reqd: 1 },
			{
				fieldname: "vehicle_assigned_only",
				fieldtype: "Check",
				label: __("Only drivers with a vehicle"),
			},
			{
				fieldname: "drivers",
				fieldtype: "Small Text",
				label: __("Only these drivers"),
				description: __("One driver ID per line; empty: all Active drivers who have not opted out."),
			},
			{ fieldname: "preview", fieldtype: "HTML" },
		],
		primary_action_label: __("Send"),
		primary_action(values) {
			preview(values).then((result) => {
				frappe.confirm(__("Send this text to {0} drivers?", [result.count]), () => {
					frappe
						.call({
							method: "tuktuk_management.api.messages.send_broadcast",
							args: { ...values, broadcast_id },
						})
						.then((r) => {
							dialog.hide();
							frappe.show_alert({
								message: __("{0} messages queued", [r.message.count]),
								indicator: "green",
							});
						});
				});
			});
		},
	});
	const preview = (values) =>
		frappe
			.call({ method: "tuktuk_management.api.messages.preview_broadcast", args: values })
			.then((r) => {
				const result = r.message;
				dialog.fields_dict.preview.$wrapper.html(
					`<div class="tuktuk-broadcast-preview" data-count="${result.count}">
						<p><b>${__("{0} drivers", [result.count])}</b> · ${result.characters} ${__("characters")}</p>
						<p class="text-muted" style="white-space: pre-wrap">${frappe.utils.escape_html(result.text)}</p>
					</div>`
				);
				dialog.get_primary_btn().text(__("Send to {0} drivers", [result.count]));
				return result;
			});
	const refresh = frappe.utils.debounce(() => {
		const values = dialog.get_values(true);
		if (values && values.text) preview(values);
	}, 400);
	["text", "vehicle_assigned_only", "drivers"].forEach((name) => {
		dialog.fields_dict[name].df.onchange = refresh;
	});
	dialog.show();
}
