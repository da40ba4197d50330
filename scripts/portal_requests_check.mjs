// Browser check of the portal's requests page (/driver/requests) on a phone-sized screen, once the
// lifecycle's TukTuk Day Off / TukTuk Withdrawal Request and their methods are on the site.
//
//   bench --site SITE execute tuktuk_management.tests.portal_check.setup > /tmp/portal.json
//   NODE_PATH=.browser/node_modules node scripts/portal_requests_check.mjs \
//     --url http://SITE:PORT --fixtures /tmp/portal.json [--amount 100] [--out docs/screenshots]
//   bench --site SITE execute tuktuk_management.tests.portal_check.teardown
//
// As the fixture's driver (360 x 780): /driver must link to /driver/requests; the page must show a
// section per available kind, no wider than the screen. Asks for a day off a week from today and
// for a withdrawal of --amount KES through the page's forms (fetch with the CSRF token), prints
// each answer shown (the status, or the server's message), checks that each accepted request is
// listed after the reload, saves portal_requests.png. Then, as the other driver, the page must
// not list the first driver's requests. Exits 1 on any mismatch.
import { join } from "node:path";

import { launchChromium, login, option, readFixtures, siteAndOut } from "./browser.mjs";

const { base, out } = siteAndOut();
const fixtures = readFixtures("/tmp/portal.json");
const amount = option("amount", "100");
const failures = [];
const browser = await launchChromium(base);

async function loggedIn(user) {
	const page = await (await browser.newContext({ viewport: { width: 360, height: 780 }, deviceScaleFactor: 2 })).newPage();
	await login(page, base, user, fixtures.password);
	return page;
}

async function ask(page, section, fill) {
	const before = await page.locator(`[data-section=${section}] tr[data-request]`).count();
	for (const [name, value] of Object.entries(fill)) await page.fill(`[data-section=${section}] input[name=${name}]`, value);
	await page.click(`[data-section=${section}] button`);
	const result = page.locator(`[data-section=${section}] [data-result].ok, [data-section=${section}] [data-result].error`);
	await result.first().waitFor({ timeout: 30000 });
	const accepted = (await result.first().getAttribute("class")) === "ok";
	const text = (await result.first().textContent()).trim();
	if (accepted) {
		await page.waitForNavigation({ timeout: 15000 }).catch(() => {}); // the page reloads itself
		await page.waitForSelector("[data-driver-requests]", { timeout: 30000 });
		const after = await page.locator(`[data-section=${section}] tr[data-request]`).count();
		if (after <= before) failures.push(`${section}: accepted ("${text}") but not listed after the reload`);
	}
	console.log(`${section}: ${accepted ? "accepted" : "refused"}: ${text}`);
	return accepted;
}

const driver = await loggedIn(fixtures.driver_user);
await driver.goto(`${base}/driver`);
if ((await driver.locator("a[data-link=requests]").count()) !== 1) failures.push("/driver has no link to /driver/requests");
await driver.goto(`${base}/driver/requests`);
await driver.waitForSelector("[data-driver-requests]", { timeout: 60000 });
const sections = await driver.$$eval("[data-section]", (nodes) => nodes.map((node) => node.dataset.section));
console.log("sections:", sections.join(", "));
const nextWeek = new Date(Date.now() + 7 * 86400000).toISOString().slice(0, 10);
const mine = [];
if (sections.includes("day_off") && (await ask(driver, "day_off", { day_off_date: nextWeek, reason: "Clinic visit" }))) mine.push("day_off");
if (sections.includes("withdrawal") && (await ask(driver, "withdrawal", { amount_kes: amount }))) mine.push("withdrawal");
const width = await driver.evaluate(() => document.documentElement.scrollWidth);
if (width > 360) failures.push(`page is ${width}px wide on a 360px screen`);
const names = await driver.$$eval("tr[data-request]", (rows) => rows.map((row) => row.dataset.request));
await driver.screenshot({ path: join(out, "portal_requests.png"), fullPage: true });

const other = await loggedIn(fixtures.other_user || "portal-driver2@example.com");
await other.goto(`${base}/driver/requests`);
const theirs = await other.$$eval("tr[data-request]", (rows) => rows.map((row) => row.dataset.request));
const shared = names.filter((name) => theirs.includes(name));
if (shared.length) failures.push(`the other driver's page lists ${shared.length} of the first driver's requests`);
console.log(JSON.stringify({ sections, accepted: mine, listed: names.length, other_driver_listed: theirs.length, width }));
await browser.close();
if (failures.length) {
	console.error(failures.join("\n"));
	process.exit(1);
}
