#!/usr/bin/env node
// Headless-Chromium driver for checking the static HTML reports osiris writes.
//
// It speaks the Chrome DevTools Protocol (CDP) over --remote-debugging-pipe rather than a
// WebSocket: Node 20 has no global WebSocket and the tests must not need npm packages. With the
// pipe, Chromium reads JSON messages from its fd 3 and writes to its fd 4, each ending in a NUL.
//
// It loads one page, optionally clicks and evaluates, and prints one JSON object describing what
// the page did (console output, exceptions, blocked network requests, dialogs, timings). Any
// http(s) request the page makes is failed on purpose, so a test can never touch the network;
// the request is still reported, since a report that tries to fetch anything is a bug.
//
// Exit: 0 run completed (the caller judges the findings), 1 Chromium failed to start or crashed,
// navigation failed, or the timeout hit, 2 usage error. See tests/browser/README.md.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { performance } = require('node:perf_hooks');

const USAGE = 'usage: node tests/browser/cdp.js [--screenshot FILE.png [--viewport]] [--width W --height H] ' +
	'[--eval NAME=JS_EXPRESSION]... [--click CSS_SELECTOR]... [--timeout-ms N] URL';

function usageError(msg) {
	process.stderr.write(`cdp.js: ${msg}\n${USAGE}\n`);
	process.exit(2);
}

function parseArgs(argv) {
	const o = { screenshot: null, viewport: false, width: 1280, height: 800, evals: [], clicks: [], timeoutMs: 30000, url: null };
	const positiveInt = (flag, v) => {
		if (!/^[1-9][0-9]*$/.test(v || '')) usageError(`${flag} needs a positive integer, got '${v ?? ''}'`);
		return Number(v);
	};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const value = () => (i + 1 < argv.length ? argv[++i] : usageError(`${a} needs a value`));
		if (a === '-h' || a === '--help') { process.stdout.write(USAGE + '\n'); process.exit(0); }
		else if (a === '--screenshot') o.screenshot = value();
		else if (a === '--viewport') o.viewport = true;
		else if (a === '--width') o.width = positiveInt(a, value());
		else if (a === '--height') o.height = positiveInt(a, value());
		else if (a === '--timeout-ms') o.timeoutMs = positiveInt(a, value());
		else if (a === '--click') o.clicks.push(value());
		else if (a === '--eval') {
			const v = value(), eq = v.indexOf('=');
			if (eq < 1) usageError(`--eval needs NAME=JS_EXPRESSION, got '${v}'`);
			o.evals.push([v.slice(0, eq), v.slice(eq + 1)]);
		} else if (a.startsWith('-')) usageError(`unknown option ${a}`);
		else if (o.url !== null) usageError('exactly one URL is expected');
		else o.url = a;
	}
	if (o.url === null) usageError('a URL is required');
	// A bare path is taken as a file: it saves every caller from building file:// URLs.
	if (!/^[a-z][a-z0-9+.-]*:/i.test(o.url)) o.url = pathToFileURL(path.resolve(o.url)).href;
	return o;
}

const opts = parseArgs(process.argv.slice(2));

// --- Chromium process and cleanup ----------------------------------------------------------

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'osiris-cdp-'));
let chrome = null;        // the ChildProcess
let chromeExited = false;
const stderrTail = [];    // Chromium's own output: swallowed, but quoted when it fails to start
// Printed on every start in a container without D-Bus, and by Debian's launcher script on some
// machines (its /dev/shm check trips over two mounts): never the reason for a failure.
const NOISE = /ERROR:dbus\/|^\/usr\/bin\/chromium: \d+: \[:/;

// Chromium forks zygote, GPU and renderer processes; it runs detached in its own process group
// so one kill reaches all of them, even if the browser process itself is wedged.
function killChrome() {
	if (!chrome || chromeExited) return;
	try { process.kill(-chrome.pid, 'SIGKILL'); } catch { /* already gone */ }
}

function removeProfile() {
	try { fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }); } catch { /* best effort */ }
}

// Synchronous, so it also works from signal handlers and process 'exit'.
function cleanupSync() {
	killChrome();
	removeProfile();
}
process.on('exit', cleanupSync);

let failed = false;
let finished = false;     // output written: Chromium exiting now is expected
function fail(msg, withStderr) {
	if (failed) return;
	failed = true;
	const tail = withStderr && stderrTail.length ? ` (chromium: ${stderrTail.slice(-5).join(' | ')})` : '';
	process.stderr.write(`cdp.js: ${msg}${tail}\n`);
	cleanupSync();
	process.exit(1);
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => fail(`interrupted by ${sig}`, false));

// CDP_DEBUG=1 traces the protocol and Chromium's output on stderr: where did it hang?
const debug = process.env.CDP_DEBUG ? (dir, s) => process.stderr.write(`${dir} ${s.slice(0, 2000)}\n`) : () => {};

let phase = 'starting chromium';
const timer = setTimeout(() => fail(`timed out after ${opts.timeoutMs} ms while ${phase}`, true), opts.timeoutMs);

const bin = process.env.CHROMIUM || 'chromium';
const flags = [
	'--headless=new',
	'--remote-debugging-pipe',
	'--no-sandbox',              // the setuid/namespace sandbox cannot start as root (tests run as root in CI)
	'--disable-gpu',             // no GPU here; avoids probing for one
	'--hide-scrollbars',         // full-page screenshots should not depend on scrollbar width
	'--no-first-run',
	'--no-default-browser-check',
	`--user-data-dir=${profile}`, // fresh profile: no state leaks between runs or from a user's browser
	'--disable-extensions',
	'--disable-background-networking', // Chromium itself must not phone home during a test
	'--disable-component-update',
	'--disable-sync',
	'--disable-breakpad',
	'--metrics-recording-only',
	'--mute-audio',
	// Backstop for what Fetch cannot intercept (WebSockets, Chromium's own traffic): every host
	// name and IP literal fails to resolve. Network.setBlockedURLs does not stop WebSockets.
	'--host-resolver-rules=MAP * ~NOTFOUND',
	'about:blank',
];
// Debian's build always starts crashpad handlers (in their own sessions; they exit with the
// browser) whose database ignores --user-data-dir and follows XDG_CONFIG_HOME: keep it in the
// temp dir, not in ~/.config. (--disable-crashpad-for-testing would stop them but crash-loops
// the network service with an "FD ownership violation".)
const env = { ...process.env, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile };
chrome = spawn(bin, flags, { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'], detached: true, env });
chrome.on('error', (e) => fail(`cannot start chromium '${bin}': ${e.message} (set $CHROMIUM or install chromium)`, false));
chrome.on('exit', (code, sig) => {
	chromeExited = true;
	if (!finished) fail(`chromium exited (${sig || 'code ' + code}) while ${phase}`, true);
});
for (const s of [chrome.stdout, chrome.stderr]) {
	s.setEncoding('utf8');
	s.on('data', (d) => {
		debug('chromium:', d);
		for (const line of d.split('\n')) if (line.trim() && !NOISE.test(line)) stderrTail.push(line.trim());
		stderrTail.splice(0, Math.max(0, stderrTail.length - 20));
	});
}

// --- CDP over the pipe -----------------------------------------------------------------------

const toChrome = chrome.stdio[3], fromChrome = chrome.stdio[4];
let nextId = 1;
const pending = new Map();   // id -> {resolve, reject, method}
const listeners = new Map(); // method -> [fn(params, sessionId)]
let inbuf = Buffer.alloc(0);

// EPIPE and friends mean Chromium died; its 'exit' handler reports that with its stderr.
toChrome.on('error', () => {});
fromChrome.on('error', () => {});
fromChrome.on('data', (chunk) => {
	inbuf = Buffer.concat([inbuf, chunk]);
	let nul;
	while ((nul = inbuf.indexOf(0)) >= 0) {
		const text = inbuf.subarray(0, nul).toString('utf8');
		debug('<-', text);
		const msg = JSON.parse(text);
		inbuf = inbuf.subarray(nul + 1);
		if (msg.id !== undefined) {
			const p = pending.get(msg.id);
			pending.delete(msg.id);
			if (!p) continue;
			if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
			else p.resolve(msg.result);
		} else {
			for (const fn of listeners.get(msg.method) || []) fn(msg.params, msg.sessionId);
		}
	}
});

function send(method, params = {}, sessionId) {
	const id = nextId++;
	const text = JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) });
	debug('->', text);
	toChrome.write(text + '\0');
	return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}
function on(method, fn) {
	if (!listeners.has(method)) listeners.set(method, []);
	listeners.get(method).push(fn);
}

// --- What the page did -----------------------------------------------------------------------

const out = {
	url: opts.url, console: [], exceptions: [], log: [], requests: [], dialogs: [], evals: {},
	errors: [], load_ms: null, dom_content_loaded_ms: null, nav_timing: null, screenshot: null,
};

// CDP hands over JS values as RemoteObjects: primitives carry a value, the rest a description.
// Objects come with a shallow preview, enough to make console.log({rows: 3}) readable.
function remoteText(r) {
	if (r.type === 'string') return r.value;
	if ('unserializableValue' in r) return r.unserializableValue;
	if ('value' in r) return JSON.stringify(r.value);
	const p = r.preview;
	if (p && r.subtype !== 'error' && (p.subtype === 'array' || p.description === 'Object')) {
		const items = p.properties.map((x) => (p.subtype === 'array' ? x.value : `${x.name}: ${x.value}`));
		if (p.overflow) items.push('…');
		return p.subtype === 'array' ? `[${items.join(', ')}]` : `{${items.join(', ')}}`;
	}
	return r.description ?? r.type;
}

// Local schemes cannot reach the network; everything else is reported (and blocked by Fetch).
const LOCAL = new Set(['file:', 'data:', 'about:', 'blob:']);
const ms = (t) => Math.round(t * 10) / 10;

async function main() {
	// The browser's first response tells us the pipe works, i.e. Chromium has started.
	const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
	phase = 'attaching to the page';
	const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
	const page = (method, params) => send(method, params, sessionId);
	const mine = (fn) => (params, sid) => { if (sid === sessionId) fn(params); };

	on('Runtime.consoleAPICalled', mine((p) => out.console.push({ type: p.type, text: p.args.map(remoteText).join(' ') })));
	on('Runtime.exceptionThrown', mine(({ exceptionDetails: d }) => out.exceptions.push({
		text: d.text, description: d.exception?.description ?? null, url: d.url ?? null,
		line: d.lineNumber === undefined ? null : d.lineNumber + 1, // CDP counts lines from 0
	})));
	on('Log.entryAdded', mine(({ entry: e }) => {
		if (e.level === 'error' || e.level === 'warning') out.log.push({ level: e.level, source: e.source, text: e.text, url: e.url ?? null });
	}));
	on('Network.requestWillBeSent', mine((p) => {
		let scheme;
		try { scheme = new URL(p.request.url).protocol; } catch { scheme = '?'; }
		if (!LOCAL.has(scheme)) out.requests.push({ url: p.request.url, type: p.type ?? null });
	}));
	// WebSockets bypass Fetch (and requestWillBeSent); the resolver rules above stop them.
	on('Network.webSocketCreated', mine((p) => out.requests.push({ url: p.url, type: 'WebSocket' })));
	on('Fetch.requestPaused', mine((p) => {
		page('Fetch.failRequest', { requestId: p.requestId, errorReason: 'BlockedByClient' }).catch(() => {});
	}));
	// An undismissed alert() blocks the page's JS, and with it every later evaluate: answer at once.
	on('Page.javascriptDialogOpening', mine((p) => {
		out.dialogs.push({ type: p.type, message: p.message });
		page('Page.handleJavaScriptDialog', { accept: false }).catch(() => {});
	}));
	on('Inspector.targetCrashed', mine(() => { if (!finished) fail(`the page crashed while ${phase}`, true); }));
	on('Target.detachedFromTarget', (p) => { if (p.sessionId === sessionId && !finished) fail(`the page went away while ${phase}`, true); });

	phase = 'enabling CDP domains';
	await Promise.all([
		page('Runtime.enable'), page('Log.enable'), page('Network.enable'), page('Page.enable'),
		page('Page.setLifecycleEventsEnabled', { enabled: true }),
		page('Fetch.enable', { patterns: [{ urlPattern: 'http://*' }, { urlPattern: 'https://*' }] }),
		page('Emulation.setDeviceMetricsOverride', { width: opts.width, height: opts.height, deviceScaleFactor: 1, mobile: false }),
	]);

	// Page.loadEventFired does not say which document loaded, so a late one from the initial
	// about:blank could pass for ours. Lifecycle events fire at the same moments (DOMContentLoaded,
	// load) and name their loader, which Page.navigate returns: wait for those of our navigation.
	phase = `loading ${opts.url}`;
	const seen = new Map(), waiters = new Map(); // 'loaderId name' -> ms since navigate / resolver
	let t0;
	on('Page.lifecycleEvent', mine((p) => {
		const key = `${p.loaderId} ${p.name}`;
		if (!seen.has(key)) seen.set(key, performance.now() - t0);
		waiters.get(key)?.(seen.get(key));
	}));
	const lifecycle = (loaderId, name) => new Promise((res) => {
		const key = `${loaderId} ${name}`;
		if (seen.has(key)) res(seen.get(key)); else waiters.set(key, res);
	});
	t0 = performance.now();
	const nav = await page('Page.navigate', { url: opts.url });
	// A missing file shows Chromium's error page, which would "load" fine: that is not the report.
	if (nav.errorText) fail(`cannot load ${opts.url}: ${nav.errorText}`, false);
	out.load_ms = ms(await lifecycle(nav.loaderId, 'load'));
	out.dom_content_loaded_ms = ms(await lifecycle(nav.loaderId, 'DOMContentLoaded'));

	const evaluate = async (expression) => {
		const r = await page('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
		if (r.exceptionDetails) {
			const d = r.exceptionDetails;
			throw new Error(d.exception?.description ?? d.text);
		}
		return r.result.value ?? null;
	};
	// Two animation frames: load handlers' DOM changes are laid out and painted before we look.
	const settle = () => evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))');

	phase = 'settling after load';
	await settle();
	out.nav_timing = await evaluate("performance.getEntriesByType('navigation')[0]?.toJSON() ?? null");

	for (const sel of opts.clicks) {
		phase = `clicking ${sel}`;
		try {
			const hit = await evaluate(`(() => { const el = document.querySelector(${JSON.stringify(sel)}); if (!el) return false; el.click(); return true; })()`);
			if (!hit) out.errors.push(`click: no element matches ${sel}`);
			await settle();
		} catch (e) {
			out.errors.push(`click ${sel}: ${e.message}`);
		}
	}
	for (const [name, expr] of opts.evals) {
		phase = `evaluating ${name}`;
		try {
			out.evals[name] = await evaluate(expr);
		} catch (e) {
			out.evals[name] = null;
			out.errors.push(`eval ${name}: ${e.message}`);
		}
	}

	if (opts.screenshot) {
		phase = 'taking the screenshot';
		// A full-page shot first grows the viewport to the page: parts laid out only when in view
		// (CSS content-visibility: auto) would otherwise be blank. Their real size can differ
		// from their placeholder's, so measure again until the height holds (a few rounds).
		let width = opts.width, height = opts.height;
		for (let round = 0; !opts.viewport && round < 4; round++) {
			const m = await page('Page.getLayoutMetrics');
			const size = m.cssContentSize || m.contentSize;
			const w = Math.max(opts.width, Math.ceil(size.width)), h = Math.max(opts.height, Math.ceil(size.height));
			if (w === width && h === height) break;
			width = w;
			height = h;
			await page('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
			await settle();
		}
		const shot = await page('Page.captureScreenshot', {
			format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width, height, scale: 1 },
		});
		fs.writeFileSync(opts.screenshot, Buffer.from(shot.data, 'base64'));
		out.screenshot = { file: path.resolve(opts.screenshot), width, height };
	}

	finished = true;
	clearTimeout(timer);
	process.stdout.write(JSON.stringify(out, null, 2) + '\n');

	// The profile is thrown away, so nothing is lost by killing rather than Browser.close, which
	// costs 100-1000 ms more. Waiting for the exit keeps a dying Chromium from writing into the
	// profile while it is being removed.
	const exited = new Promise((res) => (chromeExited ? res() : chrome.once('exit', res)));
	killChrome();
	await Promise.race([exited, new Promise((res) => setTimeout(res, 2000))]);
	cleanupSync();
	process.exit(0);
}

main().catch((e) => fail(`${e.message} (while ${phase})`, true));
