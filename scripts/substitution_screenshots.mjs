// Screenshots of the substitution form, the vehicle's connections and the Vehicle Collections
// report from a running site with headless Chromium (docs/screenshots/). Drives a browser only.
//
//   npm install --prefix /tmp/shots playwright-core
//   NODE_PATH=/tmp/shots/node_modules node scripts/substitution_screenshots.mjs \
//     --url http://route.localhost:8001 --password admin --from 2026-11-29 --to 2026-11-29 --out docs/screenshots
//
// The site needs a substitution of TT001 (see docs/substitutes-and-vehicles.md).
import { join } from "node:path";

import { launchChromium, login, option, siteAndOut } from "./browser.mjs";

const { base, out } = siteAndOut();
const password = option("password", "admin");
const fromDate = option("from", "");

const browser = await launchChromium(base);
const page = await browser.newPage({ viewport: { width: 1440, height: 820 }, deviceScaleFactor: 1 });
await login(page, base, "Administrator", password);

async function settle(ms = 2500) {
	await page.waitForLoadState("networkidle").catch(() => {});
	await page.waitForTimeout(ms);
	// Without the bench's nginx the desk renders no top navbar; the sticky page head would then
	// cover the first lines of the page, so it is laid out in the flow for the capture.
	await page.addStyleTag({ content: ".page-head { position: static !important; }" });
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.waitForTimeout(500);
}

const name = await page.evaluate(async () => {
	const response = await fetch(
		'/api/resource/TukTuk Substitution?filters=[["vehicle","=","TT001"]]&limit_page_length=1'
	);
	return (await response.json()).data[0].name;
});
await page.goto(`${base}/app/tuktuk-substitution/${name}`);
await settle();
await page.screenshot({ path: join(out, "substitution_form.png") });

await page.goto(`${base}/app/tuktuk-vehicle/TT001`);
await settle();
await page.screenshot({ path: join(out, "vehicle_connections.png") });

const toDate = option("to", "");
const query = fromDate ? `?from_date=${fromDate}${toDate ? `&to_date=${toDate}` : ""}` : "";
await page.goto(`${base}/app/query-report/Vehicle Collections${query}`);
await settle(4000);
await page.screenshot({ path: join(out, "vehicle_collections.png") });
await browser.close();
console.log(`saved 3 screenshots in ${out}`);
