// What every headless-browser check of this project shares (scripts/*.mjs): command-line options,
// the fixtures a bench `execute` printed, Debian's Chromium launched against a site served on
// 127.0.0.1, and a login through Frappe's /api/method/login. Needs playwright-core
// (scripts/setup_browser.sh; run the checks with NODE_PATH=.browser/node_modules).
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

/** The value after `--name` on the command line, or `fallback`. */
export function option(name, fallback) {
	const index = process.argv.indexOf(`--${name}`);
	return index > 0 ? process.argv[index + 1] : fallback;
}

/** The site's base URL (`--url`, no trailing slash) and the screenshots folder (`--out`, created). */
export function siteAndOut() {
	const base = option("url", "http://localhost:8000").replace(/\/$/, "");
	const out = option("out", "docs/screenshots");
	mkdirSync(out, { recursive: true });
	return { base, out };
}

/** The JSON object on the last line of the file `--fixtures` (default `fallback`). */
export function readFixtures(fallback) {
	return JSON.parse(readFileSync(option("fixtures", fallback), "utf8").trim().split("\n").pop());
}

/** Chromium (`--chromium`, default Debian's) with the site's host name mapped to 127.0.0.1. */
export function launchChromium(base) {
	const host = new URL(base).hostname;
	return chromium.launch({
		executablePath: option("chromium", "/usr/bin/chromium"),
		args: ["--no-sandbox", `--host-resolver-rules=MAP ${host} 127.0.0.1`],
	});
}

/** Log `page` in as `usr`; `[HTTP status, body]` of /api/method/login (the page stays on /login). */
export async function tryLogin(page, base, usr, pwd) {
	await page.goto(`${base}/login`);
	return page.evaluate(
		async ([usr, pwd]) => {
			const response = await fetch("/api/method/login", {
				method: "POST",
				headers: { "Content-Type": "application/json", Accept: "application/json" },
				body: JSON.stringify({ usr, pwd }),
			});
			return [response.status, await response.text()];
		},
		[usr, pwd]
	);
}

/** Log `page` in as `usr` or throw. */
export async function login(page, base, usr, pwd) {
	const [status] = await tryLogin(page, base, usr, pwd);
	if (status !== 200) throw new Error(`login of ${usr} failed: HTTP ${status}`);
}
