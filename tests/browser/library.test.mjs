// library.test.mjs: the library's pages of the web interface (issue 15
// §4) in a real browser, against the real kosyncd binary.
//
// A library folder of books made by tests/mkbooks.py (EPUB with covers,
// PDF, CBZ, FB2, one file that is no book) is given with --library-paths; a
// KOReader client pushes positions for two of them. The test signs in and
// checks the progress list (each document that joins a book shows its cover
// and title), the Books page (covers lazy with their size, a placeholder
// with the title where there is none, titles in order; sort, the reading /
// finished / not started filters, author, language, device and search; grid
// and list, the choice remembered across a reload; a push shown live), the
// book page (metadata, description, formats, progress per device with the
// link to its history, the link to its reading statistics, a download
// byte-identical to the file), the administration (folders, scan status, skipped
// files with their reasons, "Scan now", each account's files), then 2,000
// more books scanned to page through (Next, Previous, the counts), and
// "Add books" (three files at once: added, already there, refused with
// its reason; the list drawn anew), sharing an upload from its book page
// (an administrator's checkbox; a second account sees it in its Books list,
// then no longer), another account's upload shared from the administration's
// list of every account's uploads (then in the administrator's Books list),
// and the merge suggestion of two hashes
// the library joins to one book (the Merge page, the sync doctor). Every
// new page goes through axe-core (0 violations), light and dark, desktop
// and 375 px (no sideways scrolling). Any console error or page error fails
// the test.
//
// Output is TAP ("ok N - ...") for tests/run-tests.
import {spawnSync} from 'node:child_process';
import {mkdirSync, readFileSync, writeFileSync, copyFileSync, cpSync} from 'node:fs';
import {join} from 'node:path';
import {audit, bin, dataDir, koreaderAt, md5, ok, openBrowser, root, run, shots, startServer, tmp} from './lib.mjs';

const books = join(tmp, 'books');
const lib = join(tmp, 'lib');
let base = '';

// The partial MD5 of a file, as tests/mkbooks.py computes it (KOReader's).
function partialMd5(path) {
	const r = spawnSync('python3', ['-c', `
import importlib.util, sys
spec = importlib.util.spec_from_file_location('mk', sys.argv[1])
mk = importlib.util.module_from_spec(spec); spec.loader.exec_module(mk)
print(mk.partial_md5_file(sys.argv[2]))`, join(root, 'tests/mkbooks.py'), path], {encoding: 'utf8'});
	return r.stdout.trim();
}

const koreader = (...args) => koreaderAt(base, ...args);

const titles = (page) => page.$$eval('#books .bk-title', (els) => els.map((e) => e.textContent));

// Choose value in the select id and wait for the list to be drawn anew.
async function choose(page, id, value) {
	await page.selectOption('#' + id, value);
	await drawn(page);
}

// The list drawn: no page of books on its way (aria-busy).
async function drawn(page) {
	await page.waitForSelector('#books[aria-busy="false"]');
}

async function main() {
	spawnSync('python3', [join(root, 'tests/mkbooks.py'), 'books', books]);
	mkdirSync(lib);
	for (const f of ['epub2.epub', 'epub3.epub', 'book.fb2', 'info.pdf', 'comic.cbz']) copyFileSync(join(books, f), join(lib, f));
	cpSync(join(books, 'hostile/garbage.epub'), join(lib, 'garbage.epub'));
	base = await startServer(['--library-paths', lib]);
	const KEY = md5('correct horse');
	let r = await koreader('POST', '/users/create', null, null, {username: 'alice', password: KEY});
	ok(r.status === 201, 'alice registers from KOReader');
	const adm = spawnSync(bin, ['--data-dir', dataDir, 'user', 'admin', 'alice', 'on'], {encoding: 'utf8'});
	ok(adm.status === 0, 'alice is an administrator', adm.stderr);
	const prince = partialMd5(join(lib, 'epub2.epub'));
	const comic = partialMd5(join(lib, 'comic.cbz'));
	r = await koreader('PUT', '/syncs/progress', 'alice', KEY, {document: prince, progress: 'p40', percentage: 0.4,
	    device: 'Kobo', device_id: 'kobo-1'});
	ok(r.status === 200, 'the Kobo pushes 40% of Le Petit Prince');
	await new Promise((res) => setTimeout(res, 1100));
	r = await koreader('PUT', '/syncs/progress', 'alice', KEY, {document: comic, progress: 'p100', percentage: 1,
	    device: 'Kindle', device_id: 'kindle-1'});
	ok(r.status === 200, 'the Kindle finished the comic');

	// Reading statistics of Le Petit Prince, uploaded as KOReader does.
	const statsFile = join(tmp, 'statistics.sqlite3');
	const mk = spawnSync('python3', [join(root, 'tests/mkstats.py'), 'build', statsFile, '-'], {encoding: 'utf8',
	    input: JSON.stringify({books: [{key: 'p', title: 'Le Petit Prince', authors: 'Antoine de Saint-Exupéry', pages: 100, md5: prince}],
		    runs: [{book: 'p', start: new Date(Date.now() - 86400000).toISOString().slice(0, 10) + 'T19:00:00Z', first: 1, count: 20,
			    duration: 60, total_pages: 100}]})});
	ok(mk.status === 0, 'a statistics file is built (tests/mkstats.py)', mk.stderr);
	const up = await fetch(base + '/dav/statistics.sqlite3', {method: 'PUT', body: readFileSync(statsFile),
	    headers: {Authorization: 'Basic ' + Buffer.from('alice:correct horse').toString('base64'),
		    'User-Agent': 'KOReader/v2026.07.2 (Kobo; Linux; arm) LuaSocket/3.1.0'}});
	ok(up.status === 201, 'the statistics uploaded over WebDAV', up.status);

	const {context, page, problems} = await openBrowser();
	await page.goto(base + '/');
	await page.waitForSelector('#username');
	await page.fill('#username', 'alice');
	await page.fill('#password', 'correct horse');
	await page.click('button[type=submit]');
	await page.waitForSelector('#library li');
	// The progress list: each document that joins a book shows its cover
	// and its title (KOReader pushed none). The scan at start may still run.
	for (let i = 0; i < 50 && !await page.$('#library li.joined'); i++) {
		await page.waitForTimeout(200);
		await page.reload();
		await page.waitForSelector('#library li');
	}
	await page.waitForFunction(() => document.querySelectorAll('#library li.joined').length === 2);
	const joined = await page.$$eval('#library li.joined', (els) => els.map((e) => [e.dataset.document, e.querySelector('.title').textContent,
	    Boolean(e.querySelector('a.bk-cover[href^="#/book/"] .cover'))]));
	ok(joined.some((x) => x[0] === prince && x[1] === 'Le Petit Prince' && x[2]) && joined.some((x) => x[0] === comic && x[1] === 'comic'),
	    'the progress list: documents show their book\'s title and cover', JSON.stringify(joined));
	await page.screenshot({path: join(shots, 'library-joined.png'), fullPage: true});

	// The Books page: the scan at start may still run; reload until it is there.
	await page.goto(base + '/#/books');
	await page.waitForSelector('#book-count');
	for (let i = 0; i < 50 && (await titles(page)).length < 5; i++) {
		await page.waitForTimeout(200);
		await page.reload();
		await page.waitForSelector('#book-count');
	}
	ok(JSON.stringify(await titles(page)) === JSON.stringify(['A (Literal) Title', 'comic', 'Le Petit Prince',
	    'The Left Hand of Darkness', 'Roadside Picnic']), 'the books by title', JSON.stringify(await titles(page)));
	ok(/1–5 of 5 books/.test(await page.textContent('#book-count')), 'the count', await page.textContent('#book-count'));
	const imgs = await page.$$eval('#books img.cover', (els) => els.map((e) => [e.getAttribute('loading'), e.getAttribute('width'),
	    e.getAttribute('height'), e.complete && e.naturalWidth > 0]));
	ok(imgs.length === 4 && imgs.every((x) => x[0] === 'lazy' && x[1] === '120' && x[2] === '180'),
	    'four covers, lazy, their size set', JSON.stringify(imgs));
	await page.waitForFunction(() => [...document.querySelectorAll('#books img.cover')].every((e) => e.complete && e.naturalWidth > 0));
	ok(true, 'the covers load (JPEG thumbnails)');
	const none = await page.$$eval('#books .cover.none', (els) => els.map((e) => e.textContent));
	ok(JSON.stringify(none) === '["A (Literal) Title"]', 'a book without a cover: a placeholder with its title', JSON.stringify(none));
	const bar = await page.textContent('[data-book] .pct');
	ok(bar !== null, 'a book read shows its progress');
	await page.screenshot({path: join(shots, 'books-grid.png'), fullPage: true});

	await choose(page, 'book-sort', 'author');
	const byAuthor = await titles(page);
	ok(byAuthor.indexOf('The Left Hand of Darkness') < byAuthor.indexOf('Le Petit Prince') &&
	    byAuthor.indexOf('Le Petit Prince') < byAuthor.indexOf('Roadside Picnic'), 'sorted by author (Le Guin, Saint-Exupéry, Strugatsky)',
	    JSON.stringify(byAuthor));
	await choose(page, 'book-sort', 'recent');
	ok(JSON.stringify(await titles(page)) === '["comic","Le Petit Prince"]', 'recently read: the books read, newest first',
	    JSON.stringify(await titles(page)));
	await choose(page, 'book-sort', 'progress');
	ok(JSON.stringify(await titles(page)) === '["comic","Le Petit Prince"]', 'by progress', JSON.stringify(await titles(page)));
	await choose(page, 'book-sort', 'title');
	await choose(page, 'book-status', 'reading');
	ok(JSON.stringify(await titles(page)) === '["Le Petit Prince"]', 'reading', JSON.stringify(await titles(page)));
	await choose(page, 'book-status', 'finished');
	ok(JSON.stringify(await titles(page)) === '["comic"]', 'finished', JSON.stringify(await titles(page)));
	await choose(page, 'book-status', 'unread');
	ok(JSON.stringify(await titles(page)) === JSON.stringify(['A (Literal) Title', 'The Left Hand of Darkness', 'Roadside Picnic']),
	    'not started', JSON.stringify(await titles(page)));
	await choose(page, 'book-status', 'all');
	await choose(page, 'book-device', 'Kobo');
	ok(JSON.stringify(await titles(page)) === '["Le Petit Prince"]', 'device', JSON.stringify(await titles(page)));
	await choose(page, 'book-device', '');
	await choose(page, 'book-language', 'fr');
	ok(JSON.stringify(await titles(page)) === '["Le Petit Prince"]', 'language', JSON.stringify(await titles(page)));
	await choose(page, 'book-language', '');
	await choose(page, 'book-author', 'Ursula K. Le Guin');
	ok(JSON.stringify(await titles(page)) === '["The Left Hand of Darkness"]', 'author', JSON.stringify(await titles(page)));
	await choose(page, 'book-author', '');
	await page.fill('#book-search', 'picnic');
	await drawn(page);
	ok(JSON.stringify(await titles(page)) === '["Roadside Picnic"]', 'search', JSON.stringify(await titles(page)));
	await page.fill('#book-search', '');
	await drawn(page);

	// Grid and list, remembered.
	await page.click('button[data-layout=list]');
	ok(await page.$('#books.list') !== null, 'the list');
	await page.reload();
	await page.waitForSelector('#books li');
	ok(await page.$('#books.list') !== null && await page.getAttribute('button[data-layout=list]', 'aria-pressed') === 'true',
	    'the list is remembered after a reload');
	await page.screenshot({path: join(shots, 'books-list.png'), fullPage: true});
	await page.click('button[data-layout=grid]');

	// A push shows up on the open Books page (live update).
	const picnic = partialMd5(join(lib, 'book.fb2'));
	r = await koreader('PUT', '/syncs/progress', 'alice', KEY, {document: picnic, progress: 'p10', percentage: 0.1,
	    device: 'Kobo', device_id: 'kobo-1'});
	await page.waitForFunction(() => [...document.querySelectorAll('#books .bk')]
	    .some((e) => /Roadside Picnic/.test(e.textContent) && e.querySelector('.pct')));
	ok(r.status === 200, 'live update: a push shows its progress on the open Books page');

	// The book page.
	await page.click('#books [data-book] a:has-text("Le Petit Prince")');
	await page.waitForSelector('#book-title');
	const bookUrl = page.url();
	const text = await page.textContent('main');
	ok(/Antoine de Saint-Exupéry/.test(text) && /Les Classiques #2.5/.test(text) && /Gallimard/.test(text) &&
	    /isbn: /.test(text) && /Deuxième paragraphe/.test(text), 'metadata and description', text.slice(0, 400));
	ok(/Kobo/.test(await page.textContent('table.positions')) && /40%/.test(await page.textContent('table.positions')),
	    'progress per device');
	ok(await page.$('table.positions a[href^="#/doc/"]') !== null, 'a link to the history');
	// The statistics are read in the background: the page asks each time.
	for (let i = 0; i < 50 && !await page.$('a[href="#/stats/' + prince + '"]'); i++) {
		await page.waitForTimeout(200);
		await page.reload();
		await page.waitForSelector('#book-title');
	}
	ok(await page.$('a[href="#/stats/' + prince + '"]') !== null, "a link to the book's reading statistics");
	const href = await page.getAttribute('a.download', 'href');
	const res = await context.request.get(base + '/' + href);
	const got = await res.body();
	ok(res.status() === 200 && Buffer.compare(got, readFileSync(join(lib, 'epub2.epub'))) === 0, 'the download is the stored file, byte for byte');
	// The header's bytes are UTF-8; playwright reads them as Latin-1.
	ok(Buffer.from(res.headers()['content-disposition'], 'latin1').toString('utf8') ===
	    'attachment; filename="Antoine de Saint-Exupéry - Le Petit Prince.epub"',
	    'named Author - Title.epub', res.headers()['content-disposition']);
	await page.screenshot({path: join(shots, 'book-page.png'), fullPage: true});

	// Administration.
	await page.goto(base + '/#/admin');
	await page.waitForSelector('#library-admin');
	const adm2 = await page.textContent('#library-admin');
	ok(adm2.includes(lib) && /garbage\.epub/.test(adm2) && /not a book format/.test(adm2), 'folders and skipped files with reasons', adm2.slice(0, 400));
	await page.waitForFunction(() => document.querySelector('tr[data-user="alice"] td.files').textContent !== '…');
	ok(/B$/.test(await page.textContent('tr[data-user="alice"] td.files')), "each account's files (WebDAV)");

	// 2,000 more books (plain text: the file name is the title), scanned now.
	const more = join(lib, 'more');
	mkdirSync(more);
	for (let i = 0; i < 2000; i++) writeFileSync(join(more, 'Book ' + String(i).padStart(4, '0') + '.txt'), 'text ' + i + '\n');
	await page.click('#scan-now');
	await page.waitForFunction(() => /books in/.test(document.querySelector('#scan-state').textContent) &&
	    !document.querySelector('#scan-now').disabled, null, {timeout: 120000});
	const scanState = await page.textContent('#scan-state');
	ok(/^Last scan (just now|\d+ \w+ ago), [\d.]+ s, \d+ files read\. 2005 books in 2005 files; changes seen by \w+\.$/.test(scanState),
	    'scan now: when, how long, the new books counted', scanState);
	await page.goto(base + '/#/books');
	await page.waitForSelector('#books li');
	ok(/1–60 of 2005 books/.test(await page.textContent('#book-count')), 'paged: the first 60 of 2005', await page.textContent('#book-count'));
	ok((await page.$$('#books li')).length === 60, 'sixty on the page');
	await page.click('#books-next');
	await drawn(page);
	ok(/61–120 of 2005/.test(await page.textContent('#book-count')), 'Next', await page.textContent('#book-count'));
	await page.click('#books-prev');
	await drawn(page);
	ok(/1–60 of 2005/.test(await page.textContent('#book-count')), 'Previous');
	await page.fill('#book-search', 'Book 1999');
	await drawn(page);
	ok(JSON.stringify(await titles(page)) === '["Book 1999"]', 'search among 2005', JSON.stringify(await titles(page)));
	await page.fill('#book-search', '');
	await drawn(page);

	// Add books: three files at once through the picker, each answered.
	await page.waitForSelector('#books-file');
	const before = problems.length;
	await page.setInputFiles('#books-file', [join(books, 'ref.pdf'), join(books, 'epub2.epub'), join(books, 'hostile/garbage.epub')]);
	await page.waitForFunction(() => document.querySelectorAll('#uploads li[data-result]').length === 3, null, {timeout: 60000});
	const ups = await page.$$eval('#uploads li', (els) => els.map((e) => [e.dataset.file, e.dataset.result,
	    e.querySelector('.up-state').textContent, e.querySelector('progress').value]));
	ok(JSON.stringify(ups.map((x) => x.slice(0, 2))) === '[["ref.pdf","added"],["epub2.epub","exists"],["garbage.epub","refused"]]' &&
	    /^Added: /.test(ups[0][2]) && ups[1][2] === 'Already there: Le Petit Prince' && /^Refused: Not a book the library reads: /.test(ups[2][2]) &&
	    ups.every((x) => x[3] === 1), 'add books: added, already there, refused with the reason, each bar full', JSON.stringify(ups));
	// The browser logs the refusal's status: expected here.
	problems.splice(before, problems.length - before, ...problems.slice(before).filter((p) => !/status of 415/.test(p)));
	ok(await page.textContent('#uploads-said') === '1 added, 1 already there, 1 refused.', 'add books: the live region sums up',
	    await page.textContent('#uploads-said'));
	await page.waitForFunction(() => /of 2006 books/.test(document.querySelector('#book-count').textContent));
	ok(true, 'add books: the list drawn anew with the new book');
	ok(await page.getAttribute('#books-file', 'accept') === '.epub,.kepub,.pdf,.cbz,.fb2,.mobi,.azw3,.azw,.djvu,.djv,.txt' &&
	    await page.textContent('label[for="books-file"]') !== '', 'add books: a labelled picker of the formats read');
	await page.screenshot({path: join(shots, 'books-add.png'), fullPage: true});
	await page.setViewportSize({width: 375, height: 800});
	ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375), 'add books: no sideways scrolling at 375 px');
	await page.screenshot({path: join(shots, 'books-add-phone.png'), fullPage: true});
	await page.setViewportSize({width: 1280, height: 860});

	// Sharing an upload (the administrator's book page): bob sees it in his
	// Books list while it is shared, and no longer once it is not.
	r = await koreader('POST', '/users/create', null, null, {username: 'bob', password: md5('bob pw')});
	ok(r.status === 201, 'bob registers from KOReader');
	const signIn = async (user, pw) => {
		if (await page.$('#signout:visible')) {
			await page.click('#signout');
			await page.waitForSelector('#username');
		}
		await page.fill('#username', user);
		await page.fill('#password', pw);
		await page.click('button[type=submit]');
		await page.waitForSelector('#signout:visible');
	};
	// (From the Books page: bob must not land on a book he cannot see.)
	const bobSees = async () => {
		await page.goto(base + '/#/books');
		await page.waitForSelector('#book-count');
		await signIn('bob', 'bob pw');
		await page.waitForSelector('#book-count');
		await page.fill('#book-search', 'Indirect');
		await page.waitForSelector('#books[aria-busy="false"]', {state: 'attached'});
		return titles(page);
	};
	await page.fill('#book-search', 'Indirect');
	await drawn(page);
	await page.click('#books [data-book] a:has-text("Indirect Title")');
	await page.waitForSelector('#book-shared');
	const shareUrl = page.url();
	ok(/Uploaded by alice; only alice sees it\./.test(await page.textContent('#share-state')) &&
	    !await page.isChecked('#book-shared') && await page.textContent('label:has(#book-shared)') === ' Share with every account',
	    'share: the upload\'s owner, not shared, a labelled checkbox', await page.textContent('#book-share'));
	await page.check('#book-shared');
	await page.waitForFunction(() => document.querySelector('#share-msg').textContent === 'Shared with every account.');
	ok(await page.isChecked('#book-shared') && /every account sees it/.test(await page.textContent('#share-state')) &&
	    await page.evaluate(() => document.activeElement.id) === 'book-shared', 'share: on, the card drawn anew, focus kept');
	ok(JSON.stringify(await bobSees()) === '["Indirect Title"]', 'share: bob sees it in his Books list', JSON.stringify(await titles(page)));
	await page.click('#books [data-book] a:has-text("Indirect Title")');
	await page.waitForSelector('#book-title');
	ok(await page.$('#book-share') === null && !/Uploaded by/.test(await page.textContent('main')),
	    'share: bob (no administrator) sees neither the owner nor the control');
	await signIn('alice', 'correct horse');
	await page.goto(shareUrl);
	await page.waitForSelector('#book-shared');
	ok(await page.isChecked('#book-shared'), 'share: still on when the page is drawn again');
	await page.uncheck('#book-shared');
	await page.waitForFunction(() => /No longer shared/.test(document.querySelector('#share-msg').textContent));
	ok(!await page.isChecked('#book-shared'), 'share: off');
	ok(JSON.stringify(await bobSees()) === '[]', 'share: off, bob no longer sees it', JSON.stringify(await titles(page)));

	// Another account's upload, shared from the administration's list of
	// uploads: bob adds a book of his own; alice shares it there and her
	// Books list then shows it.
	const bobsFile = join(tmp, 'Bobs Notes.txt');
	writeFileSync(bobsFile, 'bob writes\n');
	await page.setInputFiles('#books-file', [bobsFile]);
	await page.waitForFunction(() => document.querySelector('#uploads li[data-file="Bobs Notes.txt"][data-result="added"]'), null, {timeout: 60000});
	await signIn('alice', 'correct horse');
	const aliceSees = async (word) => {
		await page.goto(base + '/#/books');
		await page.waitForSelector('#book-count');
		await page.fill('#book-search', word);
		await page.waitForSelector('#books[aria-busy="false"]', {state: 'attached'});
		return titles(page);
	};
	ok(JSON.stringify(await aliceSees('Bobs')) === '[]', "uploads: bob's book is his alone", JSON.stringify(await titles(page)));
	await page.goto(base + '/#/admin');
	await page.waitForSelector('#library-uploads tr[data-upload]');
	const upRows = async () => page.$$eval('#library-uploads tr[data-upload]', (els) => els.map((e) =>
	    [e.cells[0].textContent, e.cells[1].textContent, e.querySelector('input').checked]));
	ok(JSON.stringify(await upRows()) === '[["Bobs Notes","bob",false],["Indirect Title","alice",false]]',
	    "uploads: every account's, newest first, title, owner, not shared", JSON.stringify(await upRows()));
	ok(await page.isHidden('#more-uploads'), 'uploads: one page, no More uploads');
	const bobBox = '#library-uploads tr:has-text("Bobs Notes") input';
	ok(await page.textContent('#library-uploads tr:has-text("Bobs Notes") label') === ' Share with every account' &&
	    /Bobs Notes bob/.test(await page.$eval(bobBox, (el) => el.getAttribute('aria-describedby').split(' ')
	        .map((id) => document.getElementById(id).textContent).join(' '))),
	    'uploads: the checkbox labelled as on the book page, described by its book and account');
	await page.check(bobBox);
	await page.waitForFunction(() => /Shared “Bobs Notes” with every account\./.test(document.querySelector('#uploads-msg').textContent));
	ok(await page.isChecked(bobBox) && await page.evaluate(() => document.activeElement.closest('tr').cells[0].textContent) === 'Bobs Notes',
	    'uploads: shared, the row drawn anew, focus kept');
	await page.setViewportSize({width: 375, height: 800});
	ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375) && await page.isVisible(bobBox) &&
	    await page.$eval('#library-uploads .scroll', (el) => el.scrollWidth <= el.clientWidth),
	    'admin with uploads: at 375 px no sideways scrolling, the whole table with its checkbox in view');
	await page.screenshot({path: join(shots, 'admin-uploads-phone.png'), fullPage: true});
	await page.setViewportSize({width: 1280, height: 860});
	ok(JSON.stringify(await aliceSees('Bobs')) === '["Bobs Notes"]', "uploads: alice's Books list shows bob's shared book",
	    JSON.stringify(await titles(page)));
	await page.goto(base + '/#/admin');
	await page.waitForSelector('#library-uploads tr[data-upload]');
	ok(await page.isChecked(bobBox), 'uploads: still shared when the page is drawn again');

	// A device matching by file name syncs Le Petit Prince under another
	// hash: the library joins both to the book, so merging is suggested.
	const byName = md5('epub2.epub');
	r = await koreader('PUT', '/syncs/progress', 'alice', KEY, {document: byName, progress: 'p55', percentage: 0.55,
	    device: 'PocketBook', device_id: 'pb-1'});
	ok(r.status === 200, 'a device matching by file name pushes Le Petit Prince');
	await page.goto(base + '/#/merge');
	await page.waitForSelector('#suggestions .suggestion');
	const sugg = await page.$$eval('#suggestions .suggestion', (els) => els.map((e) => e.textContent));
	ok(sugg.length === 1 && /Same book of your library \(Le Petit Prince\) under 2 hashes/.test(sugg[0]) &&
	    sugg[0].includes(prince.slice(0, 8)) && sugg[0].includes(byName.slice(0, 8)),
	    'merge: the two hashes of one library book are suggested', JSON.stringify(sugg));
	await page.goto(base + '/#/doctor');
	await page.waitForSelector('li[data-finding^="book:"]');
	ok(/One book, 2 hashes/.test(await page.textContent('li[data-finding^="book:"]')), 'the sync doctor finds them too');

	await audit(page, base, [['#/', '#library li.joined', 'progress list joined'], ['#/books', '#books li', 'books'], [bookUrl.slice(base.length + 1), '#book-title', 'book'],
	    [shareUrl.slice(base.length + 1), '#book-shared', 'book upload sharing'], ['#/admin', '#library-admin', 'admin library'], ['#/merge', '#suggestions .suggestion', 'merge suggestions']]);
}

run(280000, main);
