// Browser check of the driver portal on a phone-sized screen, and the desk's broadcast dialog.
//
// Needs a running site with the app, the portal fixtures and headless Chromium (scripts/setup_browser.sh):
//
//   bench --site SITE execute tuktuk_management.tests.portal_check.setup > /tmp/portal.json
//   NODE_PATH=.browser/node_modules node scripts/portal_screenshots.mjs \
//     --url http://SITE:8000 --fixtures /tmp/portal.json --out docs/screenshots
//
// As the driver (360 x 780 viewport): opens /driver, compares every data-figure on the page with
// the ledger figures the fixture computed, asks for the other driver's page (?driver=...) and
// checks the page still shows only its own driver, takes portal_today.png. As the manager: opens
// the TukTuk Message list, types a broadcast, waits for the preview (count and text), takes
// broadcast_dialog.png, sends it. Exits 1 on any mismatch.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

function option(name, fallback) {
	const index = process.argv.indexOf(`--${name}`);
	return index > 0 ? process.argv[index + 1] : fallback;
}

const base = option("url", "http://localhost:8000").replace(/\/$/, "");
const fixtures = JSON.parse(readFileSync(option("fixtures", "/tmp/portal.json"), "utf8").trim().split("\n").pop());
const out = option("out", "docs/screenshots");
const host = new URL(base).hostname;
const failures = [];

mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
	executablePath: option("chromium", "/usr/bin/chromium"),
	args: ["--no-sandbox", `--host-resolver-rules=MAP ${host} 127.0.0.1`],
});

async function loggedIn(user, viewport) {
	const context = await browser.newContext({ viewport, deviceScaleFactor: 2 });
	const page = await context.newPage();
	await page.goto(`${base}/login`);
	const status = await page.evaluate(
		async ([usr, pwd]) =>
			(
				await fetch("/api/method/login", {
					method: "POST",
					headers: { "Content-Type": "application/json", Accept: "application/json" },
					body: JSON.stringify({ usr, pwd }),
				})
			).status,
		[user, fixtures.password]
	);
	if (status !== 200) throw new Error(`login of ${user} failed: HTTP ${status}`);
	return page;
}

async function figures(page) {
	return page.$$eval("[data-figure]", (nodes) =>
		Object.fromEntries(nodes.map((node) => [node.dataset.figure, node.dataset.value ?? node.textContent.trim()]))
	);
}

// The driver, on a phone.
const driverPage = await loggedIn(fixtures.driver_user, { width: 360, height: 780 });
await driverPage.goto(`${base}/driver`);
await driverPage.waitForSelector("[data-driver-portal]", { timeout: 60000 });
const shown = await figures(driverPage);
for (const [name, value] of Object.entries(fixtures.expected)) {
	if (String(shown[name]) !== String(value)) failures.push(`${name}: page ${shown[name]}, ledger ${value}`);
}
const width = await driverPage.evaluate(() => document.documentElement.scrollWidth);
if (width > 360) failures.push(`page is ${width}px wide on a 360px screen`);
await driverPage.screenshot({ path: join(out, "portal_today.png"), fullPage: true });
console.log(join(out, "portal_today.png"), JSON.stringify(shown));
for (const query of [`?driver=${fixtures.other_driver}`, `?name=${fixtures.other_driver}`]) {
	await driverPage.goto(`${base}/driver${query}`);
	const text = await driverPage.textContent("[data-driver-portal]");
	if (text.includes(fixtures.other_driver) || !text.includes(fixtures.driver)) {
		failures.push(`/driver${query} shows another driver`);
	}
}

// The manager's broadcast dialog.
const desk = await loggedIn(fixtures.manager_user, { width: 1280, height: 900 });
await desk.goto(`${base}/app/tuktuk-message`);
await desk.getByRole("button", { name: "Broadcast" }).click();
await desk.locator(".modal.show textarea[data-fieldname='text']").fill("Office closed tomorrow, 1 December.");
await desk.locator(".modal.show textarea[data-fieldname='text']").blur();
await desk.waitForSelector(".modal.show .tuktuk-broadcast-preview", { timeout: 30000 });
const count = await desk.getAttribute(".modal.show .tuktuk-broadcast-preview", "data-count");
if (Number(count) !== fixtures.broadcast_count) failures.push(`preview count ${count}, expected ${fixtures.broadcast_count}`);
await desk.screenshot({ path: join(out, "broadcast_dialog.png") });
console.log(join(out, "broadcast_dialog.png"), `preview count ${count}`);
await desk.locator(".modal.show .btn-modal-primary").click();
await desk.getByRole("button", { name: "Yes" }).click();
await desk.waitForTimeout(2000);

await browser.close();
if (failures.length) {
	console.error(failures.join("\n"));
	process.exit(1);
}
