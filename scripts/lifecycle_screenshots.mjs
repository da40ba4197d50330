// Browser check of onboarding and leaving on the driver form (docs/onboarding-and-leaving.md).
//
// Needs a running site with the app and headless Chromium (scripts/setup_browser.sh):
//
//   bench --site SITE execute tuktuk_management.tests.lifecycle_check.setup > /tmp/lifecycle.json
//   NODE_PATH=.browser/node_modules node scripts/lifecycle_screenshots.mjs \
//     --url http://SITE:8003 --fixtures /tmp/lifecycle.json --out docs/screenshots
//   bench --site SITE execute tuktuk_management.tests.lifecycle_check.teardown
//
// As the manager: opens the driver's form and takes driver-onboarding.png (the onboarding fields
// filled); opens Driver > Terminate, waits for the preview, checks its refund and final payout
// against the ledger's figures from the fixture and takes termination-preview.png; closes the
// dialog without terminating. With --terminate it then terminates for real from the dialog and
// checks the driver is Terminated and the driver's own login is refused. Exits 1 on any mismatch.
import { join } from "node:path";

import { launchChromium, login, readFixtures, siteAndOut, tryLogin } from "./browser.mjs";

const { base, out } = siteAndOut();
const fixtures = readFixtures("/tmp/lifecycle.json");
const failures = [];

const browser = await launchChromium(base);
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
const page = await context.newPage();
await login(page, base, fixtures.manager, fixtures.password);

await page.goto(`${base}/app/tuktuk-driver/${fixtures.driver}`);
await page.waitForSelector('.frappe-control[data-fieldname="national_id_number"]', { state: "attached", timeout: 60000 });
await page.waitForTimeout(2500);
const personal = page.locator('.section-head:has-text("Personal Details")');
if (await personal.evaluate((node) => node.classList.contains("collapsed"))) await personal.click();
await page.evaluate(() => window.scrollTo(0, 0));
await page.waitForTimeout(1000);
await page.screenshot({ path: join(out, "driver-onboarding.png"), fullPage: true });
console.log(join(out, "driver-onboarding.png"));

// The Driver menu: a day off and a substitute open their new document filled in from this driver.
const driverMenu = '.inner-group-button[data-label="Driver"] button, button:has-text("Driver")';
await page.click(driverMenu);
await page.waitForTimeout(500);
await page.screenshot({ path: join(out, "driver-menu.png"), clip: { x: 640, y: 0, width: 640, height: 330 } });
console.log(join(out, "driver-menu.png"));
for (const [item, route, fields] of [
	["Day Off", "tuktuk-day-off", { driver: fixtures.driver }],
	["Substitute", "tuktuk-substitution", { vehicle: fixtures.vehicle, regular_driver: fixtures.driver }],
]) {
	await page.click(`.dropdown-menu.show a:has-text("${item}"), a.dropdown-item:has-text("${item}")`);
	await page.waitForURL(new RegExp(`/app/${route}/new`), { timeout: 60000 });
	await page.waitForTimeout(1500);
	const values = await page.evaluate(() => ({ ...cur_frm.doc }));
	for (const [field, expected] of Object.entries(fields)) {
		if (values[field] !== expected) failures.push(`Driver > ${item}: ${field} is ${values[field]}, not ${expected}`);
	}
	console.log(`Driver > ${item}:`, JSON.stringify(Object.fromEntries(Object.keys(fields).map((f) => [f, values[f]]))));
	await page.goto(`${base}/app/tuktuk-driver/${fixtures.driver}`);
	await page.waitForSelector('.frappe-control[data-fieldname="national_id_number"]', { state: "attached", timeout: 60000 });
	await page.waitForTimeout(1500);
	await page.click(driverMenu);
}
await page.click('.dropdown-menu.show a:has-text("Terminate"), a.dropdown-item:has-text("Terminate")');
const dialog = page.locator(".modal.show .modal-dialog");
await dialog.waitFor({ timeout: 60000 });
await page.waitForTimeout(800);
const text = await dialog.innerText();
const kes = (amount) => `KES ${Number(amount).toLocaleString("en-US")}`;
for (const [label, key] of [
	["Deposit refund", "refund_kes"],
	["Final payout", "payout_kes"],
]) {
	const expected = fixtures.expected[key];
	const row = text.split("\n").find((line) => line.startsWith(label));
	if (!row || !row.replace(/\s+/g, " ").includes(String(expected).replace(/\B(?=(\d{3})+(?!\d))/g, ","))) {
		failures.push(`${label}: dialog "${row}", ledger ${kes(expected)}`);
	}
}
await dialog.screenshot({ path: join(out, "termination-preview.png") });
console.log(join(out, "termination-preview.png"), JSON.stringify(fixtures.expected));
if (process.argv.includes("--terminate")) {
	await dialog.locator('textarea[data-fieldname="reason"]').fill("Left the fleet (browser check)");
	await dialog.locator("button.btn-modal-primary, .modal-footer button.btn-danger").first().click();
	await page.waitForSelector('.modal.show .modal-title:has-text("Terminated")', { timeout: 60000 });
	const driver = await page.evaluate(
		async (name) => (await (await fetch(`/api/resource/TukTuk Driver/${name}`)).json()).data,
		fixtures.driver
	);
	if (driver.status !== "Terminated" || driver.assigned_tuktuk) failures.push(`after Terminate: ${driver.status}, ${driver.assigned_tuktuk}`);
	const driverPage = await (await browser.newContext()).newPage();
	const [loginStatus, body] = await tryLogin(driverPage, base, fixtures.driver_user, fixtures.password);
	if (loginStatus === 200 || !body.includes("User disabled")) failures.push(`terminated driver's login: HTTP ${loginStatus} ${body.slice(0, 120)}`);
	console.log("terminated", fixtures.driver, "driver login:", loginStatus, body.slice(0, 80));
} else {
	await page.keyboard.press("Escape");
}
await browser.close();
if (failures.length) {
	console.error(failures.join("\n"));
	process.exit(1);
}
