// webui.test.mjs: the web interface in a real browser (Debian's chromium
// through playwright-core), against the real kosyncd binary.
//
// A simulated KOReader client pushes one book from two devices; the test
// signs in, sees the library with the book's title, watches a live update
// arrive (SSE), opens the book, renames it, restores the other device's
// position and checks that the next protocol pull returns it, checks the
// history chart, the sync doctor and the phone layout, uploads a statistics
// file over WebDAV and checks the Reading page (overview, year heatmap, 30
// days, books; text alternatives, phone, dark, settings), changes the password
// (the device key changes with it), as an administrator creates a user
// who then syncs, and with 130 books walks the library's pages ("More")
// and a document's older history; the progress policy (set on the account
// page, a held push made current from the history). Any console error or page error fails the test. A
// screenshot of each page goes to $KS_SHOTS (default tests/browser/out/).
//
// Output is TAP ("ok N - ...") for tests/run-tests.
import {spawn, spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {mkdtempSync, mkdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const bin = process.env.KOSYNCD || join(root, 'build/test/kosyncd');
const shots = process.env.KS_SHOTS || join(here, 'out');
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const tmp = mkdtempSync(join(tmpdir(), 'kosyncd-browser.'));
mkdirSync(shots, {recursive: true});

let n = 0;
let failed = 0;
function ok(cond, what, detail) {
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

const md5 = (s) => createHash('md5').update(s).digest('hex');
const DOC = '59d481d168cca6267322f150c5f6a2a3';
const DOC2 = '41cce710f34e5ec21315e19c99821415';

// The server

let server = null;
let stderr = '';
async function startServer() {
	server = spawn(bin, ['--data-dir', join(tmp, 'data'), '--listen-address', '127.0.0.1:0',
	    '--store-history', '--history-limit', '1000'], {stdio: ['ignore', 'ignore', 'pipe']});
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
	const done = new Promise((r) => server.on('exit', (code) => r(code)));
	server.kill('SIGTERM');
	const code = await Promise.race([done, new Promise((r) => setTimeout(() => r('timeout'), 15000))]);
	ok(code === 0, 'server exited 0 on SIGTERM', code);
	const bad = stderr.split('\n').filter((l) => l && !/ (info|access): /.test(l));
	ok(bad.length === 0, 'no unexpected server stderr', bad.slice(0, 10).join('\n'));
	server = null;
}

// A KOReader client

let base = '';
const ACCEPT = 'application/vnd.koreader.v1+json';
async function koreader(method, path, user, key, body) {
	const headers = {Accept: ACCEPT};
	if (user) {
		headers['x-auth-user'] = user;
		headers['x-auth-key'] = key;
	}
	if (body) headers['Content-Type'] = 'application/json';
	const res = await fetch(base + path, {method, headers, body: body ? JSON.stringify(body) : undefined});
	return {status: res.status, body: await res.json().catch(() => null)};
}

function push(user, key, device, pct, progress, doc = DOC, title = 'Moby Dick') {
	return koreader('PUT', '/syncs/progress', user, key, {
		document: doc, progress, percentage: pct, device, device_id: device.toUpperCase() + 'ID',
		metadata: {title, authors: 'Herman Melville', filename: title.toLowerCase().replace(/ /g, '-') + '.epub'},
	});
}

// The test

async function main() {
	base = await startServer();
	const KEY = md5('correct horse');
	let r = await koreader('POST', '/users/create', null, null, {username: 'alice', password: KEY});
	ok(r.status === 201, 'alice registers from KOReader', JSON.stringify(r));
	const adm = spawnSync(bin, ['--data-dir', join(tmp, 'data'), 'user', 'admin', 'alice', 'on'], {encoding: 'utf8'});
	ok(adm.status === 0, 'alice is made an administrator (kosyncd user admin)', adm.stderr);
	r = await push('alice', KEY, 'Kobo', 0.2512, '/body/DocFragment[10]/body/p[1]/text().0');
	ok(r.status === 200, 'the Kobo pushes 25%');
	await new Promise((res) => setTimeout(res, 1100));
	r = await push('alice', KEY, 'Kindle', 0.4, '/body/DocFragment[14]/body/p[3]/text().0');
	ok(r.status === 200, 'the Kindle pushes 40%');
	await push('alice', KEY, 'Kindle', 0.1, 'p-other', DOC2, 'Moby Dick');

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
		if (m.type() === 'error') problems.push('console: ' + m.text());
	});
	page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
	page.on('dialog', (d) => d.accept(d.type() === 'prompt' ? 'bob-new-pass' : undefined));
	// A step waits up to 15 s: the server is the sanitizer build and
	// shares two cores with the rest of the suite (5 s was once too short
	// for the library's "More" to come back on a loaded machine). Checks
	// that something does NOT appear give their own short timeout.
	page.setDefaultTimeout(15000);
	try {
		await page.goto(base + '/web/');
		ok(page.url() === base + '/', 'the old address /web/ leads to / (the web interface is on by default)', page.url());
		await page.waitForSelector('#username');
		await page.screenshot({path: join(shots, 'signin.png')});
		await page.fill('#username', 'alice');
		const before = problems.length;
		await page.fill('#password', 'wrong');
		await page.click('button[type=submit]');
		await page.waitForSelector('.error:not([hidden])');
		ok(/Wrong username or password/.test(await page.textContent('.error')), 'a wrong password is refused');
		// The browser logs the refused sign-in's 401 itself: expected.
		problems.splice(before, problems.length - before,
		    ...problems.slice(before).filter((p) => !/status of 401/.test(p)));
		await page.fill('#password', 'correct horse');
		await page.click('button[type=submit]');
		await page.waitForSelector('#library li');
		const first = await page.textContent('#library li:first-child .title');
		ok(first === 'Moby Dick', 'signed in: the library shows the book by its title', first);
		ok((await page.$$('#library li')).length === 2, 'both hashes are listed');
		const cookies = await context.cookies();
		const c = cookies.find((x) => x.name === 'kosyncd_session');
		ok(c && c.httpOnly && c.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict', JSON.stringify(c));
		await page.screenshot({path: join(shots, 'library-desktop.png'), fullPage: true});

		// Live update: a push shows up without a reload.
		await page.waitForTimeout(300);
		r = await push('alice', KEY, 'Kobo', 0.5, '/body/DocFragment[20]/body/p[1]/text().0');
		const t0 = Date.now();
		let live = false;
		try {
			await page.waitForFunction((d) => {
				const li = document.querySelector(`#library li[data-document="${d}"] .pct`);
				return li && li.textContent === '50%';
			}, DOC, {timeout: 3000});
			live = true;
		} catch (e) {
			live = false;
		}
		ok(live, 'a device push appears on the open page (live, ' + (Date.now() - t0) + ' ms)');
		ok(Date.now() - t0 < 1500, 'within about a second');

		// Search.
		await page.fill('#search', 'melville');
		ok((await page.$$('#library li')).length === 2, 'search by author finds the book');
		await page.fill('#search', 'no such book');
		ok((await page.$$('#library li')).length === 0, 'search for something else finds nothing');
		await page.fill('#search', '');

		// The document page.
		await page.click(`#library li[data-document="${DOC}"] .title`);
		await page.waitForSelector('#doc-title');
		ok(await page.textContent('#doc-title') === 'Moby Dick', 'the document page opens');
		ok((await page.$$('.chart svg circle')).length >= 3, 'the history chart has a point per position');
		const rows = await page.$$eval('table.positions tbody tr', (trs) => trs.map((t) => t.textContent));
		ok(rows.length === 2 && /Kobo/.test(rows[0]) && /Kindle/.test(rows[1]), 'latest position per device (Kobo, then Kindle)', rows.join(' | '));
		await page.screenshot({path: join(shots, 'document-desktop.png'), fullPage: true});

		// Rename.
		await page.fill('#rename', 'Moby-Dick; or, The Whale');
		await page.click('form.inline button');
		await page.waitForFunction(() => document.querySelector('#doc-title').textContent === 'Moby-Dick; or, The Whale');
		ok(true, 'rename shows the new title');
		r = await koreader('GET', '/syncs/progress/' + DOC, 'alice', KEY);
		ok(r.status === 200 && r.body.percentage === 0.5, 'a pull after the rename is unchanged', JSON.stringify(r.body));

		// Restore the Kindle's 40%.
		await page.click('table.positions tbody tr:nth-child(2) button.restore');
		await page.waitForFunction(() => /40%/.test(document.querySelector('.big strong').textContent));
		r = await koreader('GET', '/syncs/progress/' + DOC, 'alice', KEY);
		ok(r.status === 200 && r.body.percentage === 0.4 &&
		    r.body.progress === '/body/DocFragment[14]/body/p[3]/text().0' && r.body.device === 'kosyncd web',
		'the next pull returns the restored position', JSON.stringify(r.body));
		const hist = await page.$$eval('ol.history li', (l) => l.length);
		ok(hist >= 3, 'the replaced position went into the history', hist);

		// Phone width.
		await page.setViewportSize({width: 375, height: 800});
		await page.screenshot({path: join(shots, 'document-phone.png'), fullPage: true});
		await page.goto(base + '/#/');
		await page.waitForSelector('#library li');
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		ok(overflow <= 0, 'the library fits a 375 px phone (no sideways scrolling)', overflow);
		await page.screenshot({path: join(shots, 'library-phone.png'), fullPage: true});
		await page.emulateMedia({colorScheme: 'dark'});
		const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
		ok(bg === 'rgb(22, 23, 26)', 'dark theme follows the system', bg);
		await page.screenshot({path: join(shots, 'library-phone-dark.png'), fullPage: true});
		await page.emulateMedia({colorScheme: 'light'});
		await page.setViewportSize({width: 1280, height: 860});

		// Sync doctor: the same title under two hashes.
		await page.goto(base + '/#/doctor');
		await page.waitForSelector('h1');
		await page.waitForFunction(() => document.querySelector('h1').textContent === 'Sync doctor');
		const doc = await page.textContent('main');
		ok(/2 hashes/.test(doc), 'the sync doctor finds the book under two hashes');
		await page.screenshot({path: join(shots, 'doctor.png'), fullPage: true});

		// Merge the two hashes: a pull under either returns one position.
		await page.goto(base + '/#/merge');
		await page.waitForSelector('#suggestions .suggestion button.merge');
		await page.screenshot({path: join(shots, 'merge.png'), fullPage: true});
		await page.click('#suggestions .suggestion button.merge');
		await page.waitForSelector('.problem.merged');
		const p1 = await koreader('GET', '/syncs/progress/' + DOC, 'alice', KEY);
		const p2 = await koreader('GET', '/syncs/progress/' + DOC2, 'alice', KEY);
		ok(p2.status === 200 && p2.body.document === DOC2 && p2.body.percentage === p1.body.percentage &&
		    p2.body.progress === p1.body.progress, 'after merging, a pull under either hash returns the shared position',
		JSON.stringify([p1.body, p2.body]));
		r = await push('alice', KEY, 'Kindle', 0.45, 'p-merged', DOC2);
		const p3 = await koreader('GET', '/syncs/progress/' + DOC, 'alice', KEY);
		ok(p3.body.percentage === 0.45, 'a push under the merged hash moves the shared position', JSON.stringify(p3.body));
		await page.goto(base + '/#/');
		await page.waitForSelector('#library li');
		ok((await page.$$('#library li')).length === 1, 'the library lists the merged book once');

		// Text from a device is shown as text, never run as HTML.
		const evil = '<img src=x onerror="window.__xss=1">';
		await push('alice', KEY, 'Ev<b>il</b>', 0.2, 'p', '0123456789abcdef0123456789abcdef', evil);
		await page.waitForFunction(() => document.querySelectorAll('#library li').length === 2);
		const shownTitle = await page.textContent('#library li:first-child .title');
		const injected = await page.evaluate(() => [window.__xss, document.querySelectorAll('#library img, #library b').length]);
		ok(shownTitle === evil && injected[0] === undefined && injected[1] === 0,
		    'a title and device name with HTML are shown literally', JSON.stringify([shownTitle, injected]));

		// Reading statistics: none yet, then a file uploaded as KOReader's
		// Cloud sync does, then the dashboard (phone, dark, settings).
		await page.goto(base + '/#/stats');
		await page.waitForFunction(() => /No statistics yet/.test(document.querySelector('main').textContent));
		ok(true, 'the Reading page says how to sync statistics before any upload');
		const statsFile = join(tmp, 'statistics.sqlite3');
		const dayAgo = (n) => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);
		const desc = {books: [
			{key: 'm', title: 'Moby Dick', authors: 'Herman Melville', pages: 600, md5: DOC},
			{key: 'o', title: 'Only in the statistics', authors: 'A\nB', pages: 200, md5: md5('stats only')}],
		runs: [
			{book: 'm', start: dayAgo(1) + 'T19:00:00Z', first: 1, count: 40, duration: 50, total_pages: 600},
			{book: 'm', start: dayAgo(2) + 'T19:00:00Z', first: 41, count: 30, duration: 60, total_pages: 600},
			{book: 'o', start: dayAgo(40) + 'T08:00:00Z', first: 1, count: 20, duration: 70, total_pages: 200},
			{book: 'o', start: dayAgo(200) + 'T08:00:00Z', first: 21, count: 10, duration: 70, total_pages: 200}]};
		const mk = spawnSync('python3', [join(root, 'tests/mkstats.py'), 'build', statsFile, '-'],
		    {input: JSON.stringify(desc), encoding: 'utf8'});
		ok(mk.status === 0, 'a statistics file is built (tests/mkstats.py)', mk.stderr);
		const up = await fetch(base + '/dav/statistics.sqlite3', {method: 'PUT', body: readFileSync(statsFile),
		    headers: {Authorization: 'Basic ' + Buffer.from('alice:correct horse').toString('base64'),
		        'User-Agent': 'KOReader/v2026.07.2 (Kobo; Linux; arm) LuaSocket/3.1.0'}});
		ok(up.status === 201, 'uploaded over WebDAV', up.status);
		let shown = false;
		for (let i = 0; i < 50 && !shown; i++) {
			await page.goto(base + '/#/');
			await page.goto(base + '/#/stats');
			await page.waitForSelector('h1');
			shown = await page.waitForSelector('.stats .stat', {timeout: 300}).then(() => true, () => false);
		}
		ok(shown, 'the figures appear once the upload is read');
		ok((await page.$$('.stats .stat')).length === 7, 'seven overview cards');
		const cells = await page.$$eval('.heat rect', (r) => [r.length, r.filter((x) => !x.classList.contains('l0')).length]);
		ok(cells[0] >= 365 && cells[1] === 4, 'the year heatmap: a cell per day, four days with reading', cells);
		ok((await page.$$('.chart rect.col')).length === 30, 'thirty bars for the last 30 days');
		const bookRows = await page.$$eval('table.books tbody tr .title', (t) => t.map((x) => x.textContent));
		ok(bookRows.length === 2 && bookRows[0] === 'Moby Dick', 'the book table, most recently read first', bookRows);
		ok(/Kobo/.test(await page.textContent('main')), 'the last upload\'s device is shown');
		// Accessibility: every chart has a text alternative, every field a
		// label, every table column header a scope, headings in order.
		const a11y = await page.evaluate(() => {
			const bad = [];
			for (const g of document.querySelectorAll('main svg')) {
				if (g.getAttribute('role') !== 'img' || !(g.getAttribute('aria-label') || g.getAttribute('aria-labelledby')))
					bad.push('svg without a text alternative');
			}
			for (const f of document.querySelectorAll('main input, main select')) {
				if (!f.id || !document.querySelector(`label[for="${f.id}"]`)) bad.push('field without label: ' + f.outerHTML);
			}
			for (const th of document.querySelectorAll('main thead th')) if (!th.getAttribute('scope')) bad.push('th without scope');
			let last = 0;
			for (const hd of document.querySelectorAll('main h1, main h2, main h3')) {
				const lvl = +hd.tagName[1];
				if (lvl > last + 1) bad.push('heading level skipped: ' + hd.textContent);
				last = lvl;
			}
			return bad;
		});
		ok(a11y.length === 0, 'the Reading page: text alternatives, labels, table headers, headings', a11y.join('\n'));
		await page.screenshot({path: join(shots, 'reading-desktop.png'), fullPage: true});
		await page.setViewportSize({width: 375, height: 800});
		await page.goto(base + '/#/');
		await page.goto(base + '/#/stats');
		await page.waitForSelector('.stats .stat');
		const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		ok(over <= 0, 'the Reading page fits a 375 px phone (the heatmap scrolls inside its box)', over);
		await page.emulateMedia({colorScheme: 'dark'});
		await page.screenshot({path: join(shots, 'reading-phone-dark.png'), fullPage: true});
		const cardBg = await page.$eval('.stat', (e) => getComputedStyle(e).backgroundColor);
		ok(cardBg === 'rgb(32, 34, 38)', 'the cards follow the dark theme', cardBg);
		await page.emulateMedia({colorScheme: 'light'});
		await page.setViewportSize({width: 1280, height: 860});
		await page.fill('#stats-tz', 'Europe/Berlin');
		await page.fill('#stats-start', '04:00');
		await page.click('form.card button.primary');
		await page.waitForFunction(() => document.querySelector('#stats-tz') &&
		    document.querySelector('#stats-tz').value === 'Europe/Berlin' && /Saved/.test(document.querySelector('#toast').textContent));
		const st = await page.evaluate(async () => (await fetch('api/v1/stats')).json());
		ok(st.timezone === 'Europe/Berlin' && st.settings.day_start === '04:00', 'the time zone and day start are saved',
		    JSON.stringify(st.settings));
		// Live: another upload, read while the page is open, reloads it.
		await page.waitForFunction(() => !document.querySelector('#toast.show'), null, {timeout: 5000});
		desc.runs.push({book: 'o', start: dayAgo(0) + 'T00:30:00Z', first: 31, count: 5, duration: 60, total_pages: 200});
		spawnSync('python3', [join(root, 'tests/mkstats.py'), 'build', statsFile + '.2', '-'],
		    {input: JSON.stringify(desc), encoding: 'utf8'});
		await fetch(base + '/dav/statistics.sqlite3', {method: 'PUT', body: readFileSync(statsFile + '.2'),
		    headers: {Authorization: 'Basic ' + Buffer.from('alice:correct horse').toString('base64')}});
		const live2 = await page.waitForFunction(() => /New reading statistics/.test(document.querySelector('#toast').textContent),
		    null, {timeout: 5000}).then(() => true, () => false);
		ok(live2, 'a new upload updates the open Reading page');

		// Administration: create bob, who then syncs.
		await page.goto(base + '/#/admin');
		await page.waitForSelector('#new-user');
		await page.fill('#new-user', 'bob');
		await page.fill('#new-password', 'bobs password');
		await page.click('form.card button.primary');
		await page.waitForSelector('tr[data-user="bob"]');
		ok(true, 'the administrator creates bob');
		r = await push('bob', md5('bobs password'), 'Pocketbook', 0.3, 'p1');
		ok(r.status === 200, 'bob syncs with the password he was given', JSON.stringify(r));
		await page.screenshot({path: join(shots, 'admin.png'), fullPage: true});

		// Progress policy (docs/policy.md): furthest holds a push behind,
		// the book's history marks it, "Make current" promotes it.
		await page.goto(base + '/#/account');
		await page.waitForSelector('#policy-furthest');
		await page.check('#policy-furthest');
		await page.waitForFunction(() => /Furthest from now on/.test(document.querySelector('main').textContent));
		const ahead = (await koreader('GET', '/syncs/progress/' + DOC, 'alice', KEY)).body.percentage;
		r = await push('alice', KEY, 'Kobo', 0.05, 'p-back', DOC);
		ok(r.status === 200, 'a push behind is answered 200 under furthest', JSON.stringify(r));
		r = await koreader('GET', '/syncs/progress/' + DOC, 'alice', KEY);
		ok(r.body.percentage === ahead && ahead > 0.05, 'furthest keeps the position ahead', JSON.stringify(r.body));
		await page.goto(base + '/#/doc/' + DOC);
		await page.waitForSelector('ol.history button.promote');
		await page.click('ol.history button.promote');
		await page.waitForFunction(() => document.querySelector('.big strong').textContent === '5.0%');
		r = await koreader('GET', '/syncs/progress/' + DOC, 'alice', KEY);
		ok(r.body.percentage === 0.05 && r.body.device === 'Kobo', 'Make current promotes the held push', JSON.stringify(r.body));
		await page.goto(base + '/#/account');
		await page.waitForSelector('#policy-latest');
		await page.check('#policy-latest');
		await page.waitForFunction(() => /Latest from now on/.test(document.querySelector('main').textContent));

		// Account: change the password; the device key changes with it.
		await page.goto(base + '/#/account');
		await page.waitForSelector('#pw-current');
		await page.fill('#pw-current', 'correct horse');
		await page.fill('#pw-new', 'battery staple');
		await page.fill('#pw-repeat', 'battery staple');
		await page.click('form.card button.primary');
		await page.waitForFunction(() => /Password changed/.test(document.querySelector('main').textContent));
		r = await koreader('GET', '/users/auth', 'alice', KEY);
		ok(r.status === 401, 'the old key stops working', r.status);
		r = await koreader('GET', '/users/auth', 'alice', md5('battery staple'));
		ok(r.status === 200, 'the new password\'s key works', r.status);
		await page.screenshot({path: join(shots, 'account.png'), fullPage: true});

		// Sign out.
		await page.click('#signout');
		await page.waitForSelector('#username');
		ok(true, 'sign out returns to the sign-in form');

		// More than a page: "More" loads the library's second page, and
		// "Older history" a document's older history entries.
		const CK = md5('carol pw');
		await koreader('POST', '/users/create', null, null, {username: 'carol', password: CK});
		for (let i = 0; i < 130; i++) await push('carol', CK, 'Kobo', 0.5, 'p' + i, md5('book' + i), 'Book ' + i);
		for (let i = 0; i < 120; i++) await push('carol', CK, 'Kobo', i / 120, 'h' + i, md5('book0'), 'Book 0');
		await page.fill('#username', 'carol');
		await page.fill('#password', 'carol pw');
		await page.click('button[type=submit]');
		await page.waitForSelector('#nav:not([hidden])');
		await page.goto(base + '/#/');
		await page.waitForSelector('#library li');
		const page1 = (await page.$$('#library li')).length;
		ok(page1 === 100 && await page.isVisible('#more'), 'a library of 130 books shows its first 100 and a More button', page1);
		await page.click('#more');
		await page.waitForFunction(() => document.querySelectorAll('#library li').length === 130);
		const ids = await page.$$eval('#library li', (l) => l.map((x) => x.dataset.document));
		ok(new Set(ids).size === 130 && !(await page.isVisible('#more')), 'More loads the second page: every book once, no More at the end', ids.length);
		await page.click(`#library li[data-document="${md5('book0')}"] .title`);
		await page.waitForSelector('ol.history li');
		const h1 = await page.$$eval('ol.history li', (l) => l.length);
		ok(h1 === 100 && await page.isVisible('#older'), 'a document page shows the newest 100 history entries and Older history', h1);
		await page.click('#older');
		await page.waitForFunction(() => document.querySelectorAll('ol.history li').length === 120);
		ok(!(await page.isVisible('#older')), 'Older history loads the rest (120 entries)');
	} catch (e) {
		ok(false, 'browser steps', e.stack);
		await page.screenshot({path: join(shots, 'failure.png'), fullPage: true}).catch(() => {});
	}
	ok(problems.length === 0, 'no console or page errors', problems.join('\n'));
	await context.close();
	rmSync(profile, {recursive: true, force: true});
}

const guard = setTimeout(() => {
	ok(false, 'finished within 120 s');
	if (server) server.kill('SIGKILL');
	console.log(`1..${n}`);
	process.exit(1);
}, 120000);

try {
	await main();
} catch (e) {
	ok(false, 'test setup', e.stack);
}
await stopServer();
clearTimeout(guard);
rmSync(tmp, {recursive: true, force: true});
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
