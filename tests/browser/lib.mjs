// lib.mjs: what every browser test shares: TAP output, the kosyncd server
// under test, a headless chromium with its console watched, axe-core, and
// the run with its time limit.
//
//   import {ok, md5, startServer, openBrowser, audit, koreaderAt, run} from './lib.mjs';
//   await run('name', 120000, async (t) => {
//       const base = await startServer(['--store-history']);
//       const {page, problems} = await openBrowser();
//       ...
//   });
//
// run() prints the plan, stops the server (checking it exits 0 on SIGTERM
// and wrote nothing unexpected to stderr), closes the browser (failing on
// any console or page error), removes the temporary directory and exits
// with the status tests/run-tests reads.
import {spawn} from 'node:child_process';
import {createHash} from 'node:crypto';
import {mkdtempSync, mkdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
export const bin = process.env.KOSYNCD || join(root, 'build/test/kosyncd');
export const shots = process.env.KS_SHOTS || join(here, 'out');
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
// The test's temporary directory; the server's data directory is in it.
export const tmp = mkdtempSync(join(tmpdir(), 'kosyncd-browser.'));
export const dataDir = join(tmp, 'data');
mkdirSync(shots, {recursive: true});

let n = 0;
let failed = 0;
export function ok(cond, what, detail) {
	n++;
	if (cond) {
		console.log(`ok ${n} - ${what}`);
	} else {
		failed++;
		console.log(`not ok ${n} - ${what}`);
		if (detail !== undefined) console.log('#   ' + String(detail).split('\n').join('\n#   '));
	}
	return cond;
}

export const md5 = (s) => createHash('md5').update(s).digest('hex');

// Polls cond every 50 ms for up to 15 s; returns its last value.
export async function waitFor(cond) {
	for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
	return cond();
}

// The server: the test binary on dataDir, on a free port of 127.0.0.1,
// with the options given. Returns its base address.
let server = null;
let stderr = '';
export async function startServer(args = []) {
	server = spawn(bin, ['--data-dir', dataDir, '--listen-address', '127.0.0.1:0', ...args],
	    {stdio: ['ignore', 'ignore', 'pipe']});
	server.stderr.setEncoding('utf8');
	server.stderr.on('data', (d) => {
		stderr += d;
	});
	for (let i = 0; i < 200; i++) {
		const m = stderr.match(/listening on 127\.0\.0\.1:(\d+)/);
		if (m) return 'http://127.0.0.1:' + m[1];
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error('server did not start: ' + stderr);
}

async function stopServer() {
	if (!server) return;
	const done = server.exitCode !== null ? Promise.resolve('exited already: ' + server.exitCode)
	    : new Promise((r) => server.on('exit', (code) => r(code)));
	server.kill('SIGTERM');
	const code = await Promise.race([done, new Promise((r) => setTimeout(() => r('timeout'), 15000))]);
	ok(code === 0, 'server exited 0 on SIGTERM', code);
	const bad = stderr.split('\n').filter((l) => l && !/ (info|access): /.test(l));
	ok(bad.length === 0, 'no unexpected server stderr', bad.slice(0, 10).join('\n'));
	server = null;
}

// A headless chromium with a fresh profile. Console errors and page
// errors are collected in problems (run() fails on any left there); a
// dialog is accepted, with answer for a prompt. A step waits up to 15 s:
// the server is the sanitizer build sharing two cores with the rest of
// the suite.
let browser = null;
export async function openBrowser(answer) {
	const profile = mkdtempSync(join(tmpdir(), 'kosyncd-chromium.'));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: browserPath,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: {width: 1280, height: 860},
	});
	const problems = [];
	const page = context.pages()[0] || await context.newPage();
	page.on('console', (m) => {
		if (m.type() === 'error') problems.push('console: ' + m.text() + ' (' + (m.location().url || '') + ')');
	});
	page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
	page.on('dialog', (d) => d.accept(d.type() === 'prompt' ? answer : undefined));
	page.setDefaultTimeout(15000);
	browser = {context, profile, problems};
	return {context, page, problems};
}

async function closeBrowser() {
	if (!browser) return;
	ok(browser.problems.length === 0, 'no console or page errors', browser.problems.join('\n'));
	await browser.context.close();
	rmSync(browser.profile, {recursive: true, force: true});
	browser = null;
}

// axe-core, run inside the page (evaluated through the debugging protocol,
// so the page's Content-Security-Policy stays as it is).
let axeSource = null;
export async function axeViolations(page) {
	// A toast fading in or out is between its colours: axe measures the
	// page at rest (no toast, no transition running).
	await page.waitForFunction(() => !document.querySelector('#toast.show') &&
	    document.getAnimations().every((a) => a.playState !== 'running'), null, {timeout: 10000});
	if (!await page.evaluate(() => typeof window.axe === 'object')) {
		if (axeSource === null) axeSource = readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
		await page.evaluate(axeSource);
	}
	return page.evaluate(async () => {
		const r = await window.axe.run(document, {resultTypes: ['violations']});
		return r.violations.map((v) => v.id + ' (' + v.impact + '): ' +
		    v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '').split('\n').slice(1, 2).join('')).join('; '));
	});
}

// How far the page scrolls sideways (0: it fits).
export function overflowX(page) {
	return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

// A KOReader client's request to the server at base: {status, body}.
export async function koreaderAt(base, method, path, user, key, body) {
	const headers = {Accept: 'application/vnd.koreader.v1+json'};
	if (user) {
		headers['x-auth-user'] = user;
		headers['x-auth-key'] = key;
	}
	if (body) headers['Content-Type'] = 'application/json';
	const res = await fetch(base + path, {method, headers, body: body ? JSON.stringify(body) : undefined});
	return {status: res.status, body: await res.json().catch(() => null)};
}

// Every page of pages ([hash, selector when drawn, name]) of the server at
// base, light and dark, through axe-core, at desktop and phone width (drawn
// anew there, coming from another page drawn whole first: a page still
// drawing would draw over the next one): 0 violations, no sideways
// scrolling at 375 px; a screenshot of each at phone width.
export async function audit(page, base, pages) {
	for (const [hash, ready, name] of pages) {
		for (const phone of [false, true]) {
			await page.setViewportSize(phone ? {width: 375, height: 800} : {width: 1280, height: 860});
			await page.goto(base + '/' + (hash === '#/' ? '#/devices' : '#/'));
			await page.waitForSelector(hash === '#/' ? '.device, main .card' : '#library, main .card');
			await page.goto(base + '/' + hash);
			await page.waitForSelector(ready);
			for (const scheme of ['light', 'dark']) {
				await page.emulateMedia({colorScheme: scheme});
				const v = await axeViolations(page);
				ok(v.length === 0, `axe: ${name}, ${phone ? 'phone' : 'desktop'}, ${scheme}: no violations`, v.join('\n'));
			}
			await page.emulateMedia({colorScheme: 'light'});
			if (phone) {
				const over = await overflowX(page);
				ok(over <= 0, `${name} fits a 375 px phone (no sideways scrolling)`, over);
				await page.screenshot({path: join(shots, 'audit-' + name.replace(/\W+/g, '-') + '-phone.png'), fullPage: true});
			}
		}
	}
	await page.setViewportSize({width: 1280, height: 860});
}

// Runs main (async), failing if it throws or takes more than ms; then
// closes the browser, stops the server, cleans up, prints the plan and
// exits. cleanup (optional) runs before the exit.
export async function run(ms, main, cleanup) {
	const guard = setTimeout(() => {
		ok(false, `finished within ${ms / 1000} s`);
		if (server) server.kill('SIGKILL');
		console.log(`1..${n}`);
		process.exit(1);
	}, ms);
	try {
		await main();
	} catch (e) {
		ok(false, 'test steps', e.stack);
		if (browser) {
			const page = browser.context.pages()[0];
			if (page) await page.screenshot({path: join(shots, 'failure-' + process.argv[1].replace(/.*\//, '') + '.png'), fullPage: true}).catch(() => {});
		}
	}
	await closeBrowser().catch((e) => ok(false, 'browser closed', e.stack));
	await stopServer();
	if (cleanup) cleanup();
	clearTimeout(guard);
	rmSync(tmp, {recursive: true, force: true});
	console.log(`1..${n}`);
	process.exit(failed ? 1 : 0);
}
