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
// page, a held push made current from the history); the devices page
// renames a device (shown by that name on the page, in the library's device
// filter) and forgets one (hidden until it syncs again). Any console error or page error fails the test. A
// screenshot of each page goes to $KS_SHOTS (default tests/browser/out/).
//
// Issue 16 (the interface finished): admin messages that stay, a password
// dialog asked twice, the user table on a phone; the merge preview (which
// position wins) with cancel and "keep its position"; the doctor's fixes
// (restore, merge), dismissal remembered, findings gone once fixed; focus
// on the heading after a page change and on the position after a restore,
// no ring around <main>; names, not hashes (toasts, pickers, "you, on the
// web" for restores); the library's sort, filters and paging with 1,500
// books; the devices page; the export; the history chart's colours,
// legend, labels, keyboard and tap; the manifest and icon; and axe-core
// (0 violations) on every page, light and dark, with no sideways scrolling
// at phone width.
//
// Output is TAP ("ok N - ...") for tests/run-tests.
import {spawn, spawnSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {audit, axeViolations, bin, dataDir, koreaderAt, md5, ok, openBrowser, overflowX, root, run, shots, startServer, tmp} from './lib.mjs';

const DOC = '59d481d168cca6267322f150c5f6a2a3';
const DOC2 = '41cce710f34e5ec21315e19c99821415';

// A KOReader client

let base = '';
const koreader = (...args) => koreaderAt(base, ...args);

function push(user, key, device, pct, progress, doc = DOC, title = 'Moby Dick') {
	return koreader('PUT', '/syncs/progress', user, key, {
		document: doc, progress, percentage: pct, device, device_id: device.toUpperCase() + 'ID',
		metadata: {title, authors: 'Herman Melville', filename: title.toLowerCase().replace(/ /g, '-') + '.epub'},
	});
}

// Issue 16's checks, one function per part, called from main() in order.

// The document page's history chart: a colour per device with a legend,
// more than two date labels, a point read out by keyboard and by a tap.
async function historyChart(page) {
	const legend = await page.$$eval('.chart .legend li', (l) => l.map((x) => x.textContent));
	ok(legend.length >= 3 && legend.includes('Kobo') && legend.includes('Kindle') && legend.includes('you, on the web'),
	    'the chart has a legend of its devices', legend);
	const colours = await page.$$eval('.chart circle.dot', (c) => new Set(c.map((x) => [...x.classList].find((k) => /^dev\d$/.test(k)))).size);
	ok(colours >= 3, 'a colour per device', colours);
	const dates = await page.$$eval('.chart svg text', (t) => t.map((x) => x.textContent).filter((x) => !/%$/.test(x)));
	ok(dates.length >= 3, 'more than two time labels', dates);
	await page.focus('.chart circle.dot[tabindex="0"]');
	const last = await page.textContent('#chart-tip');
	await page.keyboard.press('ArrowLeft');
	const prev = await page.evaluate(() => [document.activeElement.getAttribute('aria-label'), document.querySelector('#chart-tip').textContent]);
	ok(/from/.test(last) && prev[0] === prev[1] && prev[1] !== last, 'the keyboard moves between points and reads them out', [last, ...prev]);
	await page.click('.chart circle.dot >> nth=0');
	const tapped = await page.evaluate(() => [document.querySelector('.chart circle.dot').getAttribute('aria-label'), document.querySelector('#chart-tip').textContent]);
	ok(tapped[0] === tapped[1], 'a tap (click) on a point reads it out, not only hover', tapped);
}

// The sync doctor: a backward move is fixed from the finding and goes
// away; a finding dismissed stays dismissed after a reload, until shown
// again.
const DOC3 = md5('ishmael');
async function doctorFixes(page, KEY) {
	await push('alice', KEY, 'Kobo', 0.3, 'i1', DOC3, 'Ishmael Notes');
	await push('alice', KEY, 'Kobo', 0.6, 'i2', DOC3, 'Ishmael Notes');
	await push('alice', KEY, 'Kindle', 0.2, 'i3', DOC3, 'Ishmael Notes');
	await page.waitForSelector('li[data-finding^="back:"] button.primary');
	const label = await page.textContent('li[data-finding^="back:"] button.primary');
	ok(label === 'Restore 60%', 'a backward move offers its fix: restore the forward position', label);
	await page.click('li[data-finding^="back:"] button.primary');
	await page.waitForSelector('li[data-finding^="back:"]', {state: 'detached'});
	const r = await koreader('GET', '/syncs/progress/' + DOC3, 'alice', KEY);
	ok(r.body.percentage === 0.6 && r.body.progress === 'i2', 'restored from the finding, which then goes away', JSON.stringify(r.body));
	ok(await page.$('li[data-finding^="book:"] button.primary') !== null, 'the two hashes offer their fix: merge');
	await page.click('li[data-finding^="book:"] button.dismiss');
	await page.waitForSelector('li[data-finding^="book:"]', {state: 'detached'});
	await page.reload();
	await page.waitForSelector('#undismiss');
	ok(await page.$('li[data-finding^="book:"]') === null, 'a dismissed finding stays dismissed after a reload');
	await page.click('#undismiss');
	await page.waitForSelector('li[data-finding^="book:"]');
	ok(true, '"Show them again" brings it back');
}

// The merge: the preview says which position wins; Cancel merges nothing;
// the searchable picker; "keep its position" when the newer one would win.
async function mergePreview(page) {
	await page.click('#suggestions .suggestion button.merge');
	await page.waitForSelector('dialog.modal[open] #merge-result');
	const prev = await page.textContent('#merge-result');
	ok(/40%/.test(prev) && /you, on the web/.test(prev), 'the merge preview shows the resulting position before anything changes', prev);
	const v = await axeViolations(page);
	ok(v.length === 0, 'axe: the merge dialog: no violations', v.join('\n'));
	await page.screenshot({path: join(shots, 'merge-dialog.png')});
	await page.click('dialog.modal button[value=cancel]');
	await page.waitForSelector('dialog.modal', {state: 'detached'});
	ok(await page.evaluate(() => document.activeElement.classList.contains('merge')) && await page.$('.problem.merged') === null,
	    'Cancel merges nothing and focus goes back to the button');
	const opts = await page.$$eval('#merge-keep option', (o) => o.map((x) => x.value));
	ok(new Set(opts).size === opts.length && opts.length === 3, 'the picker lists each document once', opts);
	await page.fill('#merge-keep-q', 'moby');
	ok((await page.$$('#merge-keep option')).length === 2, 'the picker searches by title');
	await page.selectOption('#merge-keep', DOC2);
	await page.selectOption('#merge-other', DOC);
	await page.click('form.card button.primary');
	await page.waitForSelector('dialog.modal[open] .warn');
	const warn = await page.textContent('dialog.modal .warn');
	ok(/newest position wins/.test(warn), 'when the other book\'s newer position would win, the dialog says so first', warn);
	await page.check('#merge-keep-pos');
	await page.click('dialog.modal button[value=ok]');
	await page.waitForSelector('.problem.merged');
}

// The library: sort, the reading/finished and device filters.
async function libraryTools(page, evil) {
	const ids = () => page.$$eval('#library li', (l) => l.map((x) => x.dataset.document));
	await page.selectOption('#lib-sort', 'progress');
	let order = await ids();
	ok(order.length === 3 && order[0] === DOC3 && order[2] === '0123456789abcdef0123456789abcdef', 'sort by progress', order);
	await page.selectOption('#lib-sort', 'title');
	const titles = await page.$$eval('#library li .title', (l) => l.map((x) => x.textContent));
	ok(titles.join('|') === [...titles].sort((a, b) => a.localeCompare(b, undefined, {sensitivity: 'base', numeric: true})).join('|') &&
	    titles.includes(evil), 'sort by title', titles);
	await page.selectOption('#lib-status', 'finished');
	ok((await ids()).length === 0 && /^0 of 3 books/.test(await page.textContent('#count')), 'filter: finished (none)');
	await page.selectOption('#lib-status', 'reading');
	ok((await ids()).length === 3, 'filter: reading');
	await page.selectOption('#lib-device', 'Kindle');
	order = await ids();
	ok(order.includes(DOC3) && order.includes(DOC2) && !order.includes('0123456789abcdef0123456789abcdef'),
	    'filter: the books a device read', order);
	await page.selectOption('#lib-device', '');
	await page.selectOption('#lib-status', 'all');
	await page.selectOption('#lib-sort', 'recent');
}

// Admin: the confirmation stays; the password dialog asks twice; a user
// is deleted after a dialog; on a phone every action is in reach.
async function adminDetails(page) {
	let t = await page.textContent('#admin-msg');
	ok(t === 'Created bob.', 'creating a user shows a confirmation on the page', t);
	await page.click('tr[data-user="bob"] button:has-text("Reset password")');
	await page.waitForSelector('dialog.modal[open] #dlg-pw');
	const types = await page.$$eval('dialog.modal input', (i) => i.map((x) => x.type));
	ok(types.join() === 'password,password', 'reset password: a dialog with a password field, asked twice', types);
	const v = await axeViolations(page);
	ok(v.length === 0, 'axe: the password dialog: no violations', v.join('\n'));
	await page.fill('#dlg-pw', 'bob new pass');
	await page.fill('#dlg-pw2', 'bob new typo');
	await page.click('dialog.modal button[value=ok]');
	await page.waitForSelector('dialog.modal [role=alert]:not([hidden])');
	ok(/differ/.test(await page.textContent('dialog.modal [role=alert]')), 'two different passwords are refused in the dialog');
	await page.fill('#dlg-pw2', 'bob new pass');
	await page.click('dialog.modal button[value=ok]');
	await page.waitForSelector('dialog.modal', {state: 'detached'});
	await page.waitForFunction(() => /Password of bob reset/.test(document.querySelector('#admin-msg').textContent));
	let r = await push('bob', md5('bob new pass'), 'Pocketbook', 0.31, 'p2');
	const old = await push('bob', md5('bobs password'), 'Pocketbook', 0.32, 'p3');
	ok(r.status === 200 && old.status === 401, 'the new password works, the old one does not', [r.status, old.status]);
	await page.fill('#new-user', 'eve');
	await page.fill('#new-password', 'eve password');
	await page.click('form.card button.primary');
	await page.waitForSelector('tr[data-user="eve"]');
	await page.click('tr[data-user="eve"] button.danger');
	await page.waitForSelector('dialog.modal[open]');
	await page.click('dialog.modal button[value=ok]');
	await page.waitForSelector('tr[data-user="eve"]', {state: 'detached'});
	t = await page.evaluate(() => [document.querySelector('#admin-msg').isConnected, document.querySelector('#admin-msg').textContent]);
	ok(t[0] && t[1] === 'Deleted eve.', 'deleting a user shows a confirmation that stays on the page', t);
	await page.setViewportSize({width: 375, height: 800});
	await page.goto(base + '/#/');
	await page.waitForSelector('#library');
	await page.goto(base + '/#/admin');
	await page.waitForSelector('tr[data-user="bob"]');
	const reach = await page.$eval('tr[data-user="bob"] button.danger', (b) => {
		const x = b.getBoundingClientRect();
		return x.left >= 0 && x.right <= window.innerWidth;
	});
	const over = await overflowX(page);
	ok(reach && over <= 0, 'on a phone the user table fits and Delete is in reach', over);
	await page.screenshot({path: join(shots, 'admin-phone.png'), fullPage: true});
	await page.setViewportSize({width: 1280, height: 860});
}

// The devices page: Rename (a dialog) shows the device by its new name
// there and in the library's device filter; an empty name gives it its
// own back; Forget (asked first) hides it until it syncs again. key: the
// account's key now.
async function deviceNames(page, key) {
	const heads = () => page.$$eval('.device h2', (l) => l.map((x) => x.textContent));
	const options = async () => {
		await page.goto(base + '/#/');
		await page.waitForSelector('#lib-device');
		return page.$$eval('#lib-device option', (l) => l.map((x) => x.textContent));
	};
	await page.goto(base + '/#/devices');
	await page.waitForSelector('.device h2');
	await page.click('button[aria-label="Rename Kobo"]');
	await page.waitForSelector('dialog.modal #dlg-devname');
	await page.fill('#dlg-devname', 'Bedside Kobo');
	await page.click('dialog.modal button.primary');
	await page.waitForFunction(() => [...document.querySelectorAll('.device h2')].some((x) => x.textContent === 'Bedside Kobo'));
	let devs = await heads();
	ok(devs.includes('Bedside Kobo') && !devs.includes('Kobo'), 'Rename shows the device by its new name', devs);
	ok(/sends the name Kobo/.test(await page.textContent('.device[data-device="KOBOID"]')), 'and says the name it sends');
	let opts = await options();
	ok(opts.includes('Bedside Kobo') && !opts.includes('Kobo'), 'the library\'s device filter uses the new name', opts);
	await page.goto(base + '/#/devices');
	await page.waitForSelector('.device h2');
	await page.click('button[aria-label="Forget Kindle"]');
	await page.waitForSelector('dialog.modal');
	ok(/until it syncs again/.test(await page.textContent('dialog.modal')), 'Forget asks first');
	await page.click('dialog.modal button.primary');
	await page.waitForSelector('#forgotten');
	devs = await heads();
	ok(!devs.includes('Kindle') && devs.includes('Bedside Kobo'), 'a forgotten device is hidden from the devices page', devs);
	ok(/1 forgotten device is hidden/.test(await page.textContent('#forgotten')), 'which says one is hidden');
	opts = await options();
	ok(!opts.includes('Kindle'), 'and from the device filter', opts);
	await new Promise((r) => setTimeout(r, 1100));
	const r = await push('alice', key, 'Kindle', 0.41, 'p-back-again', DOC2, 'Moby Dick');
	ok(r.status === 200, 'the Kindle syncs again');
	await page.goto(base + '/#/devices');
	await page.waitForFunction(() => [...document.querySelectorAll('.device h2')].some((x) => x.textContent === 'Kindle'));
	ok(await page.$('#forgotten') === null, 'a sync brings the forgotten device back');
	await page.click('button[aria-label="Rename Bedside Kobo"]');
	await page.waitForSelector('dialog.modal #dlg-devname');
	await page.fill('#dlg-devname', '');
	await page.click('dialog.modal button.primary');
	await page.waitForFunction(() => [...document.querySelectorAll('.device h2')].some((x) => x.textContent === 'Kobo'));
	ok((await heads()).includes('Kobo'), 'an empty name gives the device its own name back');
}

// The manifest and icon, the devices page, the export, and every page
// through axe-core and at phone width.
async function pagesAndFiles(page) {
	const man = await fetch(base + '/assets/manifest.webmanifest');
	const mj = await man.json().catch(() => ({}));
	ok(man.status === 200 && man.headers.get('content-type') === 'application/manifest+json' &&
	    mj.name === 'kosyncd' && mj.icons && mj.icons[0].src === 'icon.svg', 'the web app manifest is served as such',
	    man.headers.get('content-type'));
	const icon = await fetch(base + '/assets/icon.svg');
	ok(icon.status === 200 && icon.headers.get('content-type') === 'image/svg+xml' && /<svg/.test(await icon.text()),
	    'the icon is an SVG');
	ok(await page.$eval('link[rel=manifest]', (l) => l.href.endsWith('/assets/manifest.webmanifest')) &&
	    await page.$eval('link[rel=icon]', (l) => l.href.endsWith('/assets/icon.svg')), 'the page links the manifest and the icon');
	await page.goto(base + '/#/devices');
	await page.waitForSelector('.device h2');
	const devs = await page.$$eval('.device h2', (l) => l.map((x) => x.textContent));
	ok(devs.includes('Kobo') && devs.includes('Kindle') && !devs.includes('kosyncd web'),
	    'the devices page lists the devices that synced (not the web restores)', devs);
	ok(/Last seen/.test(await page.textContent('.device')), 'each with when it was last seen');
	const ex = await page.evaluate(async () => {
		const r = await fetch('api/v1/export?format=csv');
		return [r.status, r.headers.get('content-type'), r.headers.get('content-disposition'), (await r.text()).split('\r\n')[0]];
	});
	ok(ex[0] === 200 && ex[1] === 'text/csv; charset=utf-8' && /^attachment; filename="kosyncd-alice-/.test(ex[2]) &&
	    /^document,title,/.test(ex[3]), 'the export downloads the user\'s own data (CSV)', ex);
	ok(await page.$('a[href="api/v1/export?format=json"][download]') !== null, 'the page links the JSON export');
	await page.screenshot({path: join(shots, 'devices.png'), fullPage: true});
	await audit(page, base, [
		['#/', '#library li', 'library'],
		['#/doc/' + DOC2, '#doc-title', 'document'],
		['#/devices', '.device', 'devices'],
		['#/stats', '.stats .stat', 'reading'],
		['#/doctor', '#findings, #no-findings', 'sync doctor'],
		['#/merge', '#merge-keep', 'merge'],
		['#/account', '#pw-current', 'account'],
		['#/admin', '#new-user', 'admin'],
	]);
}

// 1,500 books: the first page, More, sort and search stay fast; the merge
// picker shows 50 and searches the rest.
async function bigLibrary(page) {
	await page.goto(base + '/#/');
	await page.waitForSelector('#library li');
	await page.click('#signout');
	await page.waitForSelector('#username');
	// Not spawnSync: the server's stderr (an access line per push) must
	// keep being read meanwhile.
	const p = await new Promise((res) => {
		const c = spawn('python3', [join(root, 'tests/e2e/paging.py'), 'push', base, 'dave', md5('pw'), '1500', 'doc'],
		    {stdio: ['ignore', 'ignore', 'pipe']});
		let err = '';
		c.stderr.on('data', (d) => {
			err += d;
		});
		c.on('exit', (status) => res({status, stderr: err}));
	});
	ok(p.status === 0, 'dave pushes 1,500 books', p.stderr);
	await page.fill('#username', 'dave');
	await page.fill('#password', 'pw');
	const t0 = Date.now();
	await page.click('button[type=submit]');
	await page.waitForFunction(() => document.querySelectorAll('#library li').length === 100);
	const ms = Date.now() - t0;
	ok(ms < 5000, 'a library of 1,500 books shows its first 100 in ' + ms + ' ms');
	ok(/^100 of 1500 shown/.test(await page.textContent('#count')), 'and says how many there are', await page.textContent('#count'));
	// More shows the next 100 (the button scrolled into view may show
	// another 100 or two: the observer's own "More").
	await page.$eval('#more', (b) => b.click()); // no scrolling: the observer's own More would race it
	await page.waitForFunction(() => document.querySelectorAll('#library li').length >= 200);
	const shownNow = await page.$$eval('#library li', (l) => l.length);
	ok(shownNow % 100 === 0 && shownNow <= 500, 'More shows 100 more at a time', shownNow);
	let t = Date.now();
	await page.selectOption('#lib-sort', 'title');
	await page.waitForFunction(() => document.querySelector('#library li .title').textContent === 'doc0000');
	ok(Date.now() - t < 1500, 'sorting 1,500 books by title: ' + (Date.now() - t) + ' ms');
	t = Date.now();
	await page.fill('#search', 'doc1499');
	await page.waitForFunction(() => document.querySelectorAll('#library li').length === 1);
	ok(Date.now() - t < 1500, 'searching 1,500 books: ' + (Date.now() - t) + ' ms');
	await page.goto(base + '/#/merge');
	await page.waitForSelector('#merge-keep');
	const n = await page.$$eval('#merge-keep option', (o) => o.length);
	const note = await page.textContent('#merge-keep-n');
	ok(n <= 51 && /^50 of 1500 matches/.test(note), 'the merge picker shows 50 of 1,500 and says so', [n, note]);
	await page.fill('#merge-keep-q', 'doc0012');
	const hits = await page.$$eval('#merge-keep option', (o) => o.map((x) => x.textContent));
	ok(hits.length === 1 && /doc0012 /.test(hits[0]), 'searching the picker finds the book', hits);
}

// The test

async function main() {
	base = await startServer(['--store-history', '--history-limit', '1000']);
	const KEY = md5('correct horse');
	let r = await koreader('POST', '/users/create', null, null, {username: 'alice', password: KEY});
	ok(r.status === 201, 'alice registers from KOReader', JSON.stringify(r));
	const adm = spawnSync(bin, ['--data-dir', dataDir, 'user', 'admin', 'alice', 'on'], {encoding: 'utf8'});
	ok(adm.status === 0, 'alice is made an administrator (kosyncd user admin)', adm.stderr);
	r = await push('alice', KEY, 'Kobo', 0.2512, '/body/DocFragment[10]/body/p[1]/text().0');
	ok(r.status === 200, 'the Kobo pushes 25%');
	await new Promise((res) => setTimeout(res, 1100));
	r = await push('alice', KEY, 'Kindle', 0.4, '/body/DocFragment[14]/body/p[3]/text().0');
	ok(r.status === 200, 'the Kindle pushes 40%');
	await push('alice', KEY, 'Kindle', 0.1, 'p-other', DOC2, 'Moby Dick');

	// A prompt (the admin's password reset) is answered with bob's new
	// password.
	const {context, page, problems} = await openBrowser('bob-new-pass');
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
	const toastText = await page.waitForFunction(() => /synced/.test(document.querySelector('#toast').textContent), null,
	    {timeout: 3000}).then(() => page.textContent('#toast'), () => '');
	ok(toastText === 'Moby Dick was synced from Kobo', 'the toast names the book, not its hash', toastText);

	// Search.
	await page.fill('#search', 'melville');
	ok((await page.$$('#library li')).length === 2, 'search by author finds the book');
	await page.fill('#search', 'no such book');
	ok((await page.$$('#library li')).length === 0, 'search for something else finds nothing');
	await page.fill('#search', '');

	// The document page.
	await page.focus(`#library li[data-document="${DOC}"] .title`);
	await page.keyboard.press('Enter');
	await page.waitForSelector('#doc-title');
	ok(await page.textContent('#doc-title') === 'Moby Dick', 'the document page opens (from the keyboard)');
	const focus = await page.evaluate(() => [document.activeElement.id, getComputedStyle(document.querySelector('main')).outlineStyle,
		getComputedStyle(document.activeElement).outlineStyle]);
	ok(focus[0] === 'doc-title' && focus[1] === 'none' && focus[2] === 'none',
	    'after keyboard navigation focus is on the page\'s heading, with no ring around <main>', focus);
	const names = await page.$$eval('button.restore', (b) => b.map((x) => x.getAttribute('aria-label')));
	ok(names.length >= 2 && names.every((n) => /^Restore \d+%( |\.)?.* from (Kobo|Kindle), /.test(n)),
	    'each restore button says which position it restores', names.join(' | '));
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
	const after = await page.evaluate(() => document.activeElement.id);
	ok(after === 'current', 'after a restore focus is on the new current position (not <body>)', after);
	const mainText = await page.textContent('main');
	ok(/you, on the web/.test(mainText) && !/kosyncd web/.test(mainText),
	    'the restore shows as the user\'s own action, not as a device "kosyncd web"');
	await historyChart(page);

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
	await doctorFixes(page, KEY);

	// Merge the two hashes: a pull under either returns one position.
	await page.goto(base + '/#/merge');
	await page.waitForSelector('#suggestions .suggestion button.merge');
	await page.screenshot({path: join(shots, 'merge.png'), fullPage: true});
	await mergePreview(page);
	const p1 = await koreader('GET', '/syncs/progress/' + DOC, 'alice', KEY);
	const p2 = await koreader('GET', '/syncs/progress/' + DOC2, 'alice', KEY);
	ok(p2.body.percentage === 0.1 && p2.body.progress === 'p-other',
	    '"keep its position": the kept book\'s older position is the merged one', JSON.stringify(p2.body));
	ok(p2.status === 200 && p2.body.document === DOC2 && p2.body.percentage === p1.body.percentage &&
	    p2.body.progress === p1.body.progress, 'after merging, a pull under either hash returns the shared position',
	JSON.stringify([p1.body, p2.body]));
	r = await push('alice', KEY, 'Kindle', 0.45, 'p-merged', DOC2);
	const p3 = await koreader('GET', '/syncs/progress/' + DOC, 'alice', KEY);
	ok(p3.body.percentage === 0.45, 'a push under the merged hash moves the shared position', JSON.stringify(p3.body));
	await page.goto(base + '/#/');
	await page.waitForSelector('#library li');
	ok((await page.$$('#library li')).length === 2, 'the library lists the merged book once (and Ishmael Notes)');

	// Text from a device is shown as text, never run as HTML.
	const evil = '<img src=x onerror="window.__xss=1">';
	await push('alice', KEY, 'Ev<b>il</b>', 0.2, 'p', '0123456789abcdef0123456789abcdef', evil);
	await page.waitForFunction(() => document.querySelectorAll('#library li').length === 3);
	const shownTitle = await page.textContent('#library li:first-child .title');
	const injected = await page.evaluate(() => [window.__xss, document.querySelectorAll('#library img, #library b').length]);
	ok(shownTitle === evil && injected[0] === undefined && injected[1] === 0,
	    'a title and device name with HTML are shown literally', JSON.stringify([shownTitle, injected]));
	await libraryTools(page, evil);

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
	// The rest of the dashboard: punch-card, months, years, uploads,
	// exports, goals, and a book's own page.
	await page.waitForFunction(() => !document.querySelector('#toast.show'), null, {timeout: 5000});
	ok((await page.$$('.punch circle')).length > 0 && (await page.$$('.punch-table tbody tr')).length === 7,
	    'the punch-card: circles, and seven rows in its table');
	const spans = await page.$$eval('table.spans tbody tr', (r) => r.length);
	ok(spans >= 2, 'months and years as tables', spans);
	ok(/Kobo/.test(await page.textContent('table.uploads')) && /v2026\.07\.2/.test(await page.textContent('table.uploads')),
	    'the uploads: device and KOReader version');
	const csv = await page.evaluate(async () => {
		const r = await fetch(document.querySelector('a[href$="sessions.csv"]').getAttribute('href'));
		return [r.status, r.headers.get('content-type'), (await r.text()).split('\r\n')[0]];
	});
	ok(csv[0] === 200 && /^text\/csv/.test(csv[1]) && csv[2].startsWith('date,start,end'), 'the sessions download link', csv);
	await page.fill('#stats-goal-books', '12');
	await page.fill('#stats-goal-minutes', '20');
	await page.click('form.card button.primary');
	await page.waitForSelector('.stat.goal progress');
	ok((await page.$$('.stat.goal')).length === 2, 'the goals are shown with their progress');
	await page.click('table.books a.title');
	await page.waitForSelector('.sessions tbody tr');
	const bookPage = await page.evaluate(() => [document.querySelector('h1').textContent,
		document.querySelectorAll('main svg[role="img"][aria-label]').length,
		document.querySelectorAll('.sessions tbody tr').length]);
	ok(bookPage[1] === 2 && bookPage[2] >= 1, 'a book\'s page: burn-down and speed charts, sessions', bookPage);
	await page.setViewportSize({width: 375, height: 800});
	await page.emulateMedia({colorScheme: 'dark'});
	const overBook = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	ok(overBook <= 0, 'a book\'s page fits a 375 px phone', overBook);
	await page.screenshot({path: join(shots, 'reading-book-phone-dark.png'), fullPage: true});
	await page.goto(base + '/#/stats');
	await page.waitForSelector('.punch');
	const overAll = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	ok(overAll <= 0, 'the whole Reading page still fits a 375 px phone', overAll);
	await page.emulateMedia({colorScheme: 'light'});
	await page.setViewportSize({width: 1280, height: 860});
	await page.goto(base + '/#/');
	await page.goto(base + '/#/stats');
	await page.waitForSelector('.stats .stat');
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
	// Vocabulary: a vocabulary_builder.sqlite3 upload shows its words.
	const vocabFile = join(tmp, 'vocabulary_builder.sqlite3');
	spawnSync('python3', [join(root, 'tests/mkstats.py'), 'vocab', vocabFile, '-'], {input: JSON.stringify({
		titles: ['Moby Dick'], words: [{word: 'leviathan', title: 'Moby Dick', create: dayAgo(1) + 'T10:00:00Z', due: 1},
			{word: 'sextant', create: dayAgo(2) + 'T10:00:00Z', due: 4102444800}]}), encoding: 'utf8'});
	await page.waitForFunction(() => !document.querySelector('#toast.show'), null, {timeout: 5000});
	await fetch(base + '/dav/vocabulary_builder.sqlite3', {method: 'PUT', body: readFileSync(vocabFile),
	    headers: {Authorization: 'Basic ' + Buffer.from('alice:correct horse').toString('base64')}});
	const vocabShown = await page.waitForFunction(() => document.querySelectorAll('table.vocab tbody tr').length >= 2,
	    null, {timeout: 10000}).then(() => true, () => false);
	ok(vocabShown && /Due for review\s*1/.test(await page.textContent('main')),
	    'the vocabulary: words per book and month, one due', await page.textContent('main').then((t) => t.slice(-300)));

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
	await adminDetails(page);

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

	await pagesAndFiles(page);
	await deviceNames(page, md5('battery staple'));

	// Sign out.
	await page.click('#signout');
	await page.waitForSelector('#username');
	ok(true, 'sign out returns to the sign-in form');
	for (const scheme of ['light', 'dark']) {
		await page.emulateMedia({colorScheme: scheme});
		const v = await axeViolations(page);
		ok(v.length === 0, 'axe: the sign-in page, ' + scheme + ': no violations', v.join('\n'));
	}
	await page.emulateMedia({colorScheme: 'light'});

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
	await page.$eval('#more', (b) => b.click()); // no scrolling: the observer's own More would race it
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
	await bigLibrary(page);
}

await run(240000, main);
