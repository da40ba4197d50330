// A manager sends a broadcast from the desk in headless Chromium (scripts/http_broadcast_check.sh).
//
//   bench --site SITE execute tuktuk_management.tests.broadcast_check.setup --kwargs '{...}' > /tmp/b.json
//   NODE_PATH=.browser/node_modules node scripts/broadcast_check.mjs \
//     --url http://SITE:PORT --fixtures /tmp/b.json --out docs/screenshots
//
// Logs in as the fixture's manager, opens the TukTuk Message list, clicks Broadcast, types the
// text and lists the fixture's seven drivers (Active, opted out, Inactive, Suspended, Terminated),
// waits for the preview, checks its count equals the drivers the broadcast must reach, saves
// broadcast_dialog.png, presses Send, confirms, and waits for "N messages queued". Prints one JSON
// line {broadcast_text, preview_count, queued_alert}. Exits 1 on any mismatch.
import { join } from "node:path";

import { launchChromium, login, option, readFixtures, siteAndOut } from "./browser.mjs";

const { base, out } = siteAndOut();
const fixtures = readFixtures("/tmp/broadcast.json");
const text = option("text", "Fleet meeting at the yard on Monday at 8:00. Bring your licence.");
const failures = [];

const browser = await launchChromium(base);
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
const desk = await context.newPage();
await login(desk, base, fixtures.manager_user, fixtures.password);

await desk.goto(`${base}/app/tuktuk-message`);
try {
	await desk.getByRole("button", { name: "Broadcast" }).click({ timeout: 90000 });
} catch (error) {
	await desk.screenshot({ path: option("failure", "/tmp/broadcast_check_failure.png") });
	throw error;
}
const modal = desk.locator(".modal.show");
await modal.locator("textarea[data-fieldname='text']").fill(text);
await modal.locator("textarea[data-fieldname='drivers']").fill(fixtures.drivers.join("\n"));
await modal.locator("textarea[data-fieldname='drivers']").blur();
const expected = fixtures.targeted.length;
// The preview refreshes after each change (debounced): wait for the one with every filter applied.
await desk.waitForFunction(
	(count) => {
		const node = document.querySelector(".modal.show .tuktuk-broadcast-preview");
		return node && Number(node.dataset.count) === count;
	},
	expected,
	{ timeout: 30000 }
).catch(() => {});
const previewCount = Number(await modal.locator(".tuktuk-broadcast-preview").getAttribute("data-count"));
if (previewCount !== expected) failures.push(`preview count ${previewCount}, expected ${expected}`);
const previewText = (await modal.locator(".tuktuk-broadcast-preview p.text-muted").textContent()).trim();
if (previewText !== text) failures.push(`preview text "${previewText}"`);
const button = (await modal.locator(".btn-modal-primary").textContent()).trim();
await desk.screenshot({ path: join(out, "broadcast_dialog.png") });

await modal.locator(".btn-modal-primary").click();
await desk.getByRole("button", { name: "Yes" }).click({ timeout: 30000 });
const alert = desk.locator(".alert-message", { hasText: "messages queued" });
await alert.waitFor({ timeout: 30000 });
const queued = (await alert.textContent()).trim();
if (queued !== `${expected} messages queued`) failures.push(`alert "${queued}"`);

await browser.close();
console.log(JSON.stringify({ broadcast_text: text, preview_count: previewCount, send_button: button, queued_alert: queued }));
if (failures.length) {
	console.error(failures.join("\n"));
	process.exit(1);
}
