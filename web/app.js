// app.js: the kosyncd web interface (no framework, no build step).
//
// Pages are hash routes (#/, #/doc/<id>, #/stats, #/doctor, #/merge,
// #/account, #/admin) rendered into <main> from the JSON API under api/v1/ (relative to
// this page, so the app works under any base path). Every text that came
// from a device is put into the page with textContent, never as HTML.
// Live updates arrive as Server-Sent Events from api/v1/events.

const $ = (sel) => document.querySelector(sel);
const main = $('#main');
let me = null; // {username, admin, csrf}
let events = null; // EventSource
let docs = []; // the library as last fetched
let libNext = null; // the cursor of the library's next page, or null
let route = null; // {page, arg}
let shown = null; // the document on the document page

// The book a change event is about: its id or one merged into it.
function isDoc(d, id) {
	return d && (d.document === id || (d.links || []).includes(id));
}

// h(tag, attrs, ...children): an element; strings become text nodes.
function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false) continue;
		if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
		else if (k === 'class') el.className = v;
		else if (v === true) el.setAttribute(k, '');
		else el.setAttribute(k, v);
	}
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined || c === false) continue;
		el.append(c instanceof Node ? c : String(c));
	}
	return el;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
	const el = document.createElementNS(SVG, tag);
	for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined) continue;
		el.append(c instanceof Node ? c : String(c));
	}
	return el;
}

class ApiError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

// The API path of document id: "." and ".." go after a ':' (never part of
// an id), or the browser would resolve them in the URL (webui.c).
function docPath(id) {
	return 'documents/' + (id === '.' || id === '..' ? '%3A' : '') + encodeURIComponent(id);
}

async function api(method, path, body) {
	const headers = {Accept: 'application/json'};
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	if (method !== 'GET' && me) headers['X-CSRF-Token'] = me.csrf;
	const res = await fetch('api/v1/' + path, {
		method,
		headers,
		body: body === undefined ? undefined : JSON.stringify(body),
		credentials: 'same-origin',
		cache: 'no-store',
	});
	let data = null;
	try {
		data = await res.json();
	} catch (e) {
		data = null;
	}
	if (!res.ok) {
		if (res.status === 401 && path !== 'login') signedOut();
		throw new ApiError(res.status, (data && data.message) || res.statusText);
	}
	return data;
}

// Names and numbers

function docName(d) {
	return d.pretty_name || d.title || d.filename || d.document;
}

function pct(p) {
	const v = Math.max(0, Math.min(1, Number(p) || 0)) * 100;
	return (v >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(1)) + '%';
}

function fullDate(ts) {
	return ts ? new Date(ts * 1000).toLocaleString() : 'never';
}

function ago(ts) {
	if (!ts) return 'never';
	const d = Math.round(Date.now() / 1000 - ts);
	if (d < 45) return 'just now';
	const units = [
		[60, 'minute'], [3600, 'hour'], [86400, 'day'],
		[86400 * 30, 'month'], [86400 * 365, 'year'],
	];
	let u = units[0];
	for (const x of units) if (d >= x[0]) u = x;
	const n = Math.max(1, Math.round(d / u[0]));
	return n + ' ' + u[1] + (n === 1 ? '' : 's') + ' ago';
}

/* Bytes as the admin page shows an account's usage. */
function size(n) {
	if (n < 1024) return n + ' B';
	if (n < 1048576) return (n / 1024).toFixed(1) + ' KB';
	return (n / 1048576).toFixed(1) + ' MB';
}

function when(ts) {
	return h('time', {datetime: ts ? new Date(ts * 1000).toISOString() : null,
	    title: fullDate(ts)}, ago(ts));
}

function bar(p, label) {
	const fill = h('span', {class: 'fill'});
	fill.style.width = pct(p);
	return h('span', {class: 'bar', role: 'progressbar', 'aria-valuemin': '0',
	    'aria-valuemax': '100', 'aria-valuenow': String(Math.round((p || 0) * 100)),
	    'aria-label': label || 'Progress'}, fill);
}

function toast(text) {
	const t = $('#toast');
	t.textContent = text;
	t.classList.add('show');
	clearTimeout(toast.timer);
	toast.timer = setTimeout(() => t.classList.remove('show'), 3000);
}

function errorBox(e) {
	return h('p', {class: 'error', role: 'alert'}, e.message || String(e));
}

function setPage(title, ...content) {
	document.title = title ? title + ' · kosyncd' : 'kosyncd';
	main.replaceChildren(...content.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

// Sign-in

function signedOut() {
	me = null;
	if (events) {
		events.close();
		events = null;
	}
	$('#nav').hidden = true;
	showLogin();
}

function showLogin(message) {
	const err = h('p', {class: 'error', role: 'alert', hidden: !message}, message || '');
	const user = h('input', {id: 'username', name: 'username', autocomplete: 'username',
	    required: true, autocapitalize: 'none', spellcheck: 'false'});
	const pass = h('input', {id: 'password', name: 'password', type: 'password',
	    autocomplete: 'current-password', required: true});
	const form = h('form', {class: 'card narrow', onsubmit: async (ev) => {
		ev.preventDefault();
		err.hidden = true;
		try {
			me = await api('POST', 'login', {username: user.value, password: pass.value});
			start();
		} catch (e) {
			err.textContent = e.message;
			err.hidden = false;
			pass.select();
		}
	}},
	h('h1', {}, 'Sign in'),
	h('p', {class: 'muted'}, 'Use the username and password you entered in KOReader\'s progress sync.'),
	h('label', {for: 'username'}, 'Username'), user,
	h('label', {for: 'password'}, 'Password'), pass,
	err,
	h('button', {type: 'submit', class: 'primary'}, 'Sign in'));
	setPage('Sign in', form);
	user.focus();
}

function start() {
	$('#nav').hidden = false;
	$('#nav-admin').hidden = !me.admin;
	listen();
	render();
}

// Live updates

function listen() {
	if (events) events.close();
	events = new EventSource('api/v1/events');
	events.addEventListener('change', (ev) => {
		let d = null;
		try {
			d = JSON.parse(ev.data);
		} catch (e) {
			return;
		}
		onChange(d);
	});
}

async function onChange(d) {
	if (!route) return;
	if (route.page === 'library' || route.page === 'doctor' || route.page === 'merge') {
		await render(true);
		if (d.kind === 'push') {
			const doc = docs.find((x) => isDoc(x, d.document));
			toast((doc ? docName(doc) : 'A book') + ' was synced' +
			    (doc && doc.device ? ' from ' + doc.device : ''));
		}
	} else if (route.page === 'stats' && d.kind === 'stats') {
		await render(true);
		toast('New reading statistics');
	} else if (route.page === 'doc' && (route.arg === d.document || isDoc(shown, d.document))) {
		if (d.kind === 'delete') {
			location.hash = '#/';
			return;
		}
		await render(true);
		if (d.kind === 'push') toast('New position synced');
	}
}

// Reading statistics (api/v1/stats): from the statistics.sqlite3 that
// KOReader's Cloud sync uploads over WebDAV.

// Seconds as "2 h 5 min", "12 min", "40 s".
function dur(sec) {
	sec = Math.round(Number(sec) || 0);
	if (sec < 60) return sec + ' s';
	const m = Math.round(sec / 60);
	if (m < 60) return m + ' min';
	return Math.floor(m / 60) + ' h' + (m % 60 ? ' ' + (m % 60) + ' min' : '');
}

// "YYYY-MM-DD" plus n days (dates are the account's local days).
function addDays(date, n) {
	const t = Date.UTC(+date.slice(0, 4), +date.slice(5, 7) - 1, +date.slice(8, 10)) + n * 86400000;
	return new Date(t).toISOString().slice(0, 10);
}

function longDate(date) {
	const d = new Date(date + 'T12:00:00Z');
	return d.toLocaleDateString(undefined, {timeZone: 'UTC', weekday: 'short', year: 'numeric', month: 'short', day: 'numeric'});
}

function statCard(label, value, sub) {
	return h('div', {class: 'stat'}, h('span', {class: 'label'}, label), h('strong', {}, value),
	    sub ? h('span', {class: 'muted'}, sub) : null);
}

// A year of days as a heatmap: one column per week (Monday first), darker
// for more reading; each day's figures in its <title>.
function heatmap(byDate, today) {
	const first = addDays(today, -364 - ((new Date(today + 'T12:00:00Z').getUTCDay() + 6) % 7));
	const C = 11, G = 2, L = 28, T = 16;
	const weeks = Math.ceil((Date.parse(today) - Date.parse(first)) / 86400000 / 7) + 1;
	const W = L + weeks * (C + G), H = T + 7 * (C + G);
	const max = Math.max(60, ...Object.values(byDate).map((d) => d.seconds));
	const cells = [], months = [];
	let read = 0, total = 0, lastMonth = '';
	for (let i = 0, date = first; date <= today; i++, date = addDays(date, 1)) {
		const d = byDate[date];
		const sec = d ? d.seconds : 0;
		const lvl = sec === 0 ? 0 : Math.min(4, 1 + Math.floor(sec / max * 4 - 1e-9));
		const x = L + Math.floor(i / 7) * (C + G), y = T + (i % 7) * (C + G);
		if (sec) {
			read++;
			total += sec;
		}
		cells.push(s('rect', {x, y, width: C, height: C, rx: 2, class: 'l' + lvl},
		    s('title', {}, longDate(date) + ': ' + (sec ? dur(sec) + ', ' + d.pages + ' pages' : 'no reading'))));
		const mon = date.slice(0, 7);
		if (i % 7 === 0 && mon !== lastMonth) {
			lastMonth = mon;
			months.push(s('text', {x, y: T - 5, class: 'axis'},
			    new Date(date + 'T12:00:00Z').toLocaleDateString(undefined, {timeZone: 'UTC', month: 'short'})));
		}
	}
	const wd = [['Mon', 0], ['Wed', 2], ['Fri', 4]].map(([n, r]) =>
		s('text', {x: 0, y: T + r * (C + G) + C - 1, class: 'axis'}, n));
	const cap = 'Reading time per day over the last year: ' + read + ' days with reading, ' + dur(total) + ' in all.';
	// On a phone it scrolls sideways, within reach of the keyboard too.
	return h('figure', {class: 'chart heat'},
	    h('div', {class: 'scroll', tabindex: '0', role: 'group', 'aria-label': 'The last year, by day'}, s('svg', {viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': cap},
	        months, wd, cells)),
	    h('figcaption', {class: 'muted'}, cap));
}

// The last 30 days as bars, with the same figures as a table.
function dayBars(byDate, today) {
	const W = Math.max(300, Math.min(900, main.clientWidth - 40));
	const H = 170, L = 58, R = 8, T = 10, B = 24;
	const days = [];
	for (let i = 29; i >= 0; i--) {
		const date = addDays(today, -i);
		days.push({date, seconds: byDate[date] ? byDate[date].seconds : 0, pages: byDate[date] ? byDate[date].pages : 0});
	}
	// The scale: whole ten minutes, so that its marks read well.
	const max = Math.ceil(Math.max(600, ...days.map((d) => d.seconds)) / 600) * 600;
	const bw = (W - L - R) / 30;
	const y = (sec) => T + (1 - sec / max) * (H - T - B);
	const grid = [0, 0.5, 1].map((f) => [
		s('line', {x1: L, x2: W - R, y1: y(max * f), y2: y(max * f), class: 'grid'}),
		s('text', {x: L - 6, y: y(max * f) + 4, 'text-anchor': 'end', class: 'axis'}, dur(max * f))]);
	const bars = days.map((d, i) => s('rect', {x: (L + i * bw + 1).toFixed(1), y: y(d.seconds).toFixed(1),
	    width: Math.max(1, bw - 2).toFixed(1), height: (H - B - y(d.seconds)).toFixed(1), class: 'col'},
	    s('title', {}, longDate(d.date) + ': ' + dur(d.seconds) + ', ' + d.pages + ' pages')));
	const labels = [s('text', {x: L, y: H - 6, class: 'axis'}, longDate(days[0].date)),
		s('text', {x: W - R, y: H - 6, 'text-anchor': 'end', class: 'axis'}, longDate(today))];
	const sum = days.reduce((a, d) => a + d.seconds, 0);
	const cap = 'Reading time on each of the last 30 days: ' + dur(sum) + ' in all, ' +
	    days.filter((d) => d.seconds).length + ' days with reading.';
	return h('figure', {class: 'chart'},
	    s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': cap}, grid, bars, labels),
	    h('figcaption', {class: 'muted'}, cap),
	    h('details', {}, h('summary', {}, 'The 30 days as a table'),
	        h('div', {class: 'scroll'}, h('table', {class: 'days'},
	            h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Day'), h('th', {scope: 'col'}, 'Time'),
	                h('th', {scope: 'col'}, 'Pages'))),
	            h('tbody', {}, days.slice().reverse().map((d) => h('tr', {},
	                h('td', {}, longDate(d.date)), h('td', {class: 'num'}, dur(d.seconds)),
	                h('td', {class: 'num'}, d.pages))))))));
}

function bookTable(books) {
	const list = books.slice().sort((a, b) => b.last_read - a.last_read);
	return h('div', {class: 'scroll'}, h('table', {class: 'books'},
	    h('caption', {class: 'sr'}, 'Per book: time read, pages, days, average per page, last read'),
	    h('thead', {}, h('tr', {},
	        ['Book', 'Time', 'Pages read', 'Days', 'Per page', 'Last read'].map((t) => h('th', {scope: 'col'}, t)))),
	    h('tbody', {}, list.map((b) => h('tr', {},
	        h('td', {}, h('span', {class: 'title'}, b.title || b.md5 || '—'),
	            b.authors && b.authors !== 'N/A' ? h('span', {class: 'authors'}, b.authors.split('\n').join(', ')) : null),
	        h('td', {class: 'num'}, dur(b.seconds)),
	        h('td', {class: 'num'}, b.pages ? b.pages_read + ' / ' + b.pages : b.pages_read),
	        h('td', {class: 'num'}, b.days),
	        h('td', {class: 'num'}, b.avg_page_seconds === null ? '—' : dur(b.avg_page_seconds)),
	        h('td', {}, when(b.last_read)))))));
}

function statsSettings(o) {
	const msg = h('p', {role: 'status'});
	const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
	const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
	const tz = h('input', {id: 'stats-tz', value: o.timezone, list: 'stats-zones', autocomplete: 'off', required: true});
	const start = h('input', {id: 'stats-start', type: 'time', value: o.settings.day_start, required: true});
	return h('form', {class: 'card', onsubmit: async (ev) => {
		ev.preventDefault();
		msg.className = '';
		try {
			await api('PUT', 'stats/settings', {timezone: tz.value.trim(), day_start: start.value});
			await render(true);
			toast('Saved');
		} catch (e) {
			msg.className = 'error';
			msg.textContent = e.message;
		}
	}},
	h('h2', {}, 'Days'),
	h('p', {class: 'muted'}, 'Days are counted in this time zone' + (here && here !== o.timezone ? ' (this browser is in ' + here + ')' : '') +
	    ', from the time a reading day starts, as KOReader\'s "Daily timeline starts at".'),
	h('label', {for: 'stats-tz'}, 'Time zone'), tz,
	h('datalist', {id: 'stats-zones'}, ['UTC', ...zones].map((z) => h('option', {value: z}))),
	h('label', {for: 'stats-start'}, 'A day starts at'), start,
	h('button', {type: 'submit', class: 'primary'}, 'Save'), msg);
}

async function stats() {
	const o = await api('GET', 'stats');
	const up = o.last_upload;
	const refused = o.refused ? h('div', {class: 'problem', role: 'alert'},
	    h('p', {}, h('strong', {}, 'The last upload was not read: '), o.refused),
	    h('p', {class: 'fix'}, o.overview ? 'The figures below are those of the upload before it.' :
	        'Sync again from KOReader; if it keeps failing, the file on the device may be damaged.')) : null;
	const upload = up ? h('p', {class: 'muted'}, 'Last upload ', when(up.time), ', ', size(up.size),
	    up.user_agent ? ', from ' + up.user_agent : '', '.') : null;
	if (!o.overview) {
		setPage('Reading', h('h1', {}, 'Reading'), refused, upload,
		    h('div', {class: 'card'}, h('h2', {}, 'No statistics yet'),
		        h('p', {}, 'KOReader keeps how long you read each page. To see it here, sync it with this server:'),
		        h('ol', {},
		            h('li', {}, 'Cloud storage → add a WebDAV server: address ', h('code', {}, new URL('dav/', location.href).href),
		                ', your user name and password.'),
		            h('li', {}, 'Reading statistics → Settings → Cloud sync: choose that server, open a folder and ',
		                h('strong', {}, 'long-press'), ' to choose it.'),
		            h('li', {}, 'Then "Synchronize now" (and on every other device).'))),
		    statsSettings(o));
		return;
	}
	const today = o.overview.today.to;
	const [daysRes, booksRes] = await Promise.all([
		api('GET', 'stats/days?from=' + addDays(today, -371) + '&to=' + today),
		api('GET', 'stats/books'),
	]);
	const byDate = {};
	for (const d of daysRes.days) byDate[d.date] = d;
	const ov = o.overview;
	const p = (x) => dur(x.seconds) + '';
	const pages = (x) => x.pages + (x.pages === 1 ? ' page' : ' pages') +
	    (x.books_finished ? ', ' + x.books_finished + ' finished' : '');
	setPage('Reading', h('h1', {}, 'Reading'), refused, upload,
	    h('section', {class: 'stats', 'aria-label': 'Overview'},
	        statCard('Today', p(ov.today), pages(ov.today)),
	        statCard('This week', p(ov.week), pages(ov.week)),
	        statCard('This month', p(ov.month), pages(ov.month)),
	        statCard('This year', p(ov.year), pages(ov.year)),
	        statCard('Current streak', ov.streak.current + (ov.streak.current === 1 ? ' day' : ' days'), null),
	        statCard('Longest streak', ov.streak.longest + (ov.streak.longest === 1 ? ' day' : ' days'),
	            ov.streak.longest_to ? 'to ' + longDate(ov.streak.longest_to) : null),
	        statCard('Books', String(o.books), dur(ov.seconds) + ' in all')),
	    h('h2', {}, 'The last year'), heatmap(byDate, today),
	    h('h2', {}, 'The last 30 days'), dayBars(byDate, today),
	    h('h2', {}, 'Books'), bookTable(booksRes.books),
	    statsSettings(o));
	// The heatmap shows today at first (on a phone it scrolls).
	for (const el of main.querySelectorAll('.heat .scroll')) el.scrollLeft = el.scrollWidth;
}

// Pages

function parseRoute() {
	const hash = location.hash.replace(/^#\/?/, '');
	const [page, ...rest] = hash.split('/');
	const arg = rest.length ? decodeURIComponent(rest.join('/')) : null;
	return {page: page || 'library', arg};
}

async function render(quiet) {
	route = parseRoute();
	for (const a of document.querySelectorAll('#nav a')) {
		const target = a.getAttribute('href').replace(/^#\/?/, '') || 'library';
		if (target === route.page) a.setAttribute('aria-current', 'page');
		else a.removeAttribute('aria-current');
	}
	const pages = {library, doc: docPage, stats, doctor, merge, account, admin};
	const fn = pages[route.page] || library;
	try {
		await fn(route.arg, quiet);
	} catch (e) {
		if (e.status === 401) return;
		setPage('Error', errorBox(e));
	}
	if (!quiet) main.focus({preventScroll: true});
}

// Lists come a page at a time: {<key>: [...], next: <cursor> or null}.
// page(path, key, cursor, query) fetches one: {items, next}.
async function page(path, key, cursor, query) {
	const q = [];
	if (query) q.push(query);
	if (cursor) q.push('cursor=' + encodeURIComponent(cursor));
	const d = await api('GET', path + (q.length ? '?' + q.join('&') : ''));
	return {items: d[key], next: d.next};
}

// The library's pages until at least want documents (or the end): 0 for
// the first page only, Infinity for every page.
async function loadDocs(history, want) {
	const query = history || want === Infinity ? 'limit=500' + (history ? '&history=1' : '') : '';
	let p = await page('documents', 'documents', null, query);
	const list = p.items;
	while (p.next && list.length < (want || 0)) {
		p = await page('documents', 'documents', p.next, query);
		list.push(...p.items);
	}
	docs = list;
	libNext = p.next;
	return docs;
}

async function library(_arg, quiet) {
	const keep = quiet ? ($('#search') || {}).value || '' : '';
	// A live update reloads as many books as were shown.
	const list = await loadDocs(false, quiet ? docs.length : 0);
	const search = h('input', {id: 'search', type: 'search', placeholder: 'Search title, author, file',
	    'aria-label': 'Search the library', value: keep, autocomplete: 'off'});
	const ul = h('ul', {class: 'library', id: 'library'});
	const count = h('p', {class: 'muted', id: 'count'});
	const fill = () => {
		const q = search.value.trim().toLowerCase();
		const shown = list.filter((d) => !q || [docName(d), d.authors, d.filename, d.title, d.document]
		    .some((t) => t && t.toLowerCase().includes(q)));
		const names = new Map();
		for (const d of list) names.set(docName(d), (names.get(docName(d)) || 0) + 1);
		ul.replaceChildren(...shown.map((d) => docItem(d, names.get(docName(d)) > 1)));
		count.textContent = list.length === 0 ? '' :
		    shown.length + ' of ' + list.length + (libNext ? ' books loaded' : ' books');
		more.hidden = !libNext;
	};
	// The next page, by the button or when it scrolls into view.
	const more = h('button', {type: 'button', id: 'more', class: 'more', onclick: async () => {
		if (!libNext || more.disabled) return;
		more.disabled = true;
		try {
			const p = await page('documents', 'documents', libNext);
			list.push(...p.items);
			libNext = p.next;
			fill();
		} catch (e) {
			toast(e.message);
		}
		more.disabled = false;
	}}, 'More');
	if (window.IntersectionObserver) {
		new IntersectionObserver((seen) => {
			if (seen.some((x) => x.isIntersecting) && !more.hidden) more.click();
		}).observe(more);
	}
	search.addEventListener('input', fill);
	fill();
	const empty = list.length === 0 ? h('div', {class: 'card'},
	    h('p', {}, 'Nothing synced yet.'),
	    h('p', {class: 'muted'}, 'In KOReader, open a book, then Tools → Progress sync → Push progress now.')) : null;
	const hadFocus = document.activeElement && document.activeElement.id === 'search';
	setPage('Library', h('div', {class: 'head'}, h('h1', {}, 'Library'), search), count, empty, ul, more);
	if (hadFocus) search.focus();
}

// One book of the library; twin: another book has the same name, so the
// start of the hash tells them apart.
function docItem(d, twin) {
	const name = docName(d);
	const sub = [d.authors, twin ? d.document.slice(0, 8) : null].filter(Boolean).join(' · ');
	return h('li', {class: 'book', 'data-document': d.document},
	    h('a', {href: '#/doc/' + encodeURIComponent(d.document), class: 'title'}, name),
	    sub ? h('span', {class: 'authors'}, sub) : null,
	    h('span', {class: 'progress'}, bar(d.percentage, 'Progress of ' + name),
	        h('span', {class: 'pct'}, pct(d.percentage))),
	    h('span', {class: 'last muted'}, d.device || 'unknown device', ' · ', when(d.timestamp)));
}

async function restore(d, entry) {
	await api('POST', docPath(d.document) + '/restore',
	    {percentage: entry.percentage, progress: entry.progress});
	toast('Restored ' + pct(entry.percentage) + '; devices jump there at their next sync');
	await render(true);
}

// Progress policy (docs/policy.md): what a held-back push says in the
// history, and its "make current" button.
const HELD_WHY = {
	furthest: 'held back: behind the position then current (policy "furthest")',
	guard: 'held back: a stale replay from a device that had not synced since (policy "guard")',
};

function heldNote(d, e, fail) {
	if (!e.held) return null;
	if (e.promoted) return h('span', {class: 'tag'}, 'held back, made current later');
	return [h('span', {class: 'tag', title: HELD_WHY[e.held] || 'held back'}, 'held back'),
	    h('button', {type: 'button', class: 'promote', 'aria-label': 'Make ' + pct(e.percentage) + ' from ' +
	        (e.device || 'unknown device') + ' current', onclick: () => promote(d, e).catch(fail)}, 'Make current')];
}

async function promote(d, e) {
	await api('POST', docPath(d.document) + '/promote',
	    {timestamp: e.timestamp, percentage: e.percentage, device_id: e.device_id || ''});
	toast('Made ' + pct(e.percentage) + ' from ' + (e.device || 'unknown device') + ' current');
	await render(true);
}

// The sync doctor's finding for a document whose newest held-back push was
// never made current.
function heldProblems(list) {
	const out = [];
	for (const d of list) {
		const held = (d.history || []).filter((e) => e.held && !e.promoted);
		if (!held.length) continue;
		const e = held[held.length - 1];
		out.push(h('li', {class: 'problem'},
		    h('h3', {}, 'A push was held back: ', docLink(d)),
		    h('p', {}, h('strong', {}, e.device || 'A device'), ' sent ', pct(e.percentage), ' ', when(e.timestamp),
		        ', but your progress policy kept ', pct(d.percentage), ' current: ', HELD_WHY[e.held] || 'held back', '.'),
		    h('p', {class: 'fix'}, 'What to do: nothing, if ', pct(d.percentage), ' is where you are. Otherwise open the book ' +
		        'and choose "Make current" on that push in its history; the policy is set on the Account page.')));
	}
	return out;
}

async function docPage(id) {
	const d = await api('GET', docPath(id));
	const name = docName(d);
	shown = d;
	const msg = h('p', {class: 'error', role: 'alert', hidden: true});
	const fail = (e) => {
		msg.textContent = e.message;
		msg.hidden = false;
	};

	// Rename
	const input = h('input', {id: 'rename', value: d.pretty_name || '', placeholder: d.title || d.filename || '',
	    'aria-label': 'Your title for this book', maxlength: '300'});
	const renameForm = h('form', {class: 'inline', onsubmit: async (ev) => {
		ev.preventDefault();
		try {
			await api('PUT', docPath(d.document) + '/name', {name: input.value.trim()});
			toast('Renamed');
			await render(true);
		} catch (e) {
			fail(e);
		}
	}}, input, h('button', {type: 'submit'}, 'Rename'));

	// Positions by device: the current one first.
	const current = {percentage: d.percentage, progress: d.progress, device: d.device,
	    device_id: d.device_id, timestamp: d.timestamp};
	const positions = [current, ...d.devices.slice().sort((a, b) => b.timestamp - a.timestamp)];
	const posRows = positions.map((e, i) => h('tr', {},
	    h('td', {}, e.device || '—', i === 0 ? h('span', {class: 'tag'}, 'latest') : null),
	    h('td', {}, bar(e.percentage), ' ', pct(e.percentage)),
	    h('td', {}, when(e.timestamp)),
	    h('td', {}, i === 0 ? '' : h('button', {type: 'button', class: 'restore',
	        onclick: () => restore(d, e).catch(fail)}, 'Restore'))));

	// History, newest first in the list; older pages on demand.
	const hist = (d.history || []).filter((e) => e.timestamp > 0);
	const histRow = (e) => h('li', {},
	    h('span', {class: 'when'}, when(e.timestamp)),
	    h('span', {}, e.device || '—'),
	    h('span', {class: 'pct'}, pct(e.percentage)),
	    heldNote(d, e, fail),
	    h('button', {type: 'button', class: 'restore', onclick: () => restore(d, e).catch(fail)}, 'Restore'));
	const histList = h('ol', {class: 'history'}, hist.slice().reverse().map(histRow));
	let histNext = d.history_next;
	const older = h('button', {type: 'button', id: 'older', class: 'more', hidden: !histNext, onclick: async () => {
		older.disabled = true;
		try {
			const p = await api('GET', 'documents/' + encodeURIComponent(d.document) +
			    '?cursor=' + encodeURIComponent(histNext));
			histList.append(...p.history.filter((e) => e.timestamp > 0).reverse().map(histRow));
			histNext = p.history_next;
			older.hidden = !histNext;
		} catch (e) {
			fail(e);
		}
		older.disabled = false;
	}}, 'Older history');

	const del = h('button', {type: 'button', class: 'danger', onclick: async () => {
		if (!window.confirm('Delete "' + name + '" and its history from the server? ' +
		    'Your devices keep the book; the next push adds it again.')) return;
		try {
			await api('DELETE', docPath(d.document));
			toast('Deleted');
			location.hash = '#/';
		} catch (e) {
			fail(e);
		}
	}}, 'Delete from server');

	setPage(name,
	    h('p', {}, h('a', {href: '#/'}, '← Library')),
	    h('h1', {id: 'doc-title'}, name),
	    d.authors ? h('p', {class: 'authors'}, d.authors) : null,
	    h('div', {class: 'card'},
	        h('div', {class: 'big'}, bar(d.percentage, 'Progress'), h('strong', {}, pct(d.percentage))),
	        h('p', {class: 'muted'}, 'Last synced from ', d.device || 'unknown device', ' ', when(d.timestamp)),
	        h('dl', {class: 'meta'},
	            d.title ? [h('dt', {}, 'Title'), h('dd', {}, d.title)] : null,
	            d.filename ? [h('dt', {}, 'File'), h('dd', {}, d.filename)] : null,
	            h('dt', {}, 'Hash'), h('dd', {}, h('code', {}, d.document)),
	            h('dt', {}, 'Position'), h('dd', {}, h('code', {class: 'wrap'}, d.progress)))),
	    msg,
	    d.links && d.links.length ? h('p', {class: 'muted'}, 'Merged: also synced as ',
	        d.links.map((a, i) => [i ? ', ' : '', h('code', {}, a)]), ' (', h('a', {href: '#/merge'}, 'manage'), ').') : null,
	    h('h2', {}, 'Your title'), renameForm,
	    h('h2', {}, 'Latest position on each device'),
	    h('div', {class: 'scroll'}, h('table', {class: 'positions'},
	        h('thead', {}, h('tr', {}, h('th', {}, 'Device'), h('th', {}, 'Progress'), h('th', {}, 'When'), h('th', {}, h('span', {class: 'sr'}, 'Action')))),
	        h('tbody', {}, posRows))),
	    h('h2', {}, 'History'),
	    hist.length ? chart([...hist, current]) : h('p', {class: 'muted'},
	        'No history yet. Restoring a position keeps the replaced one here; ' +
	        'with the option store_history every push does.'),
	    hist.length ? [histList, older] : null,
	    h('h2', {}, 'Delete'), h('p', {class: 'muted'}, 'Removes this book\'s position and history from the server.'), del);
}

// The history chart: percentage over time, drawn as SVG.
function chart(entries) {
	// Drawn at the width it is shown at, so that the text keeps its size.
	const W = Math.max(300, Math.min(900, main.clientWidth - 40));
	const H = W < 500 ? 180 : 220, L = 44, R = 12, T = 12, B = 30;
	const pts = entries.slice().sort((a, b) => a.timestamp - b.timestamp);
	const t0 = pts[0].timestamp, t1 = pts[pts.length - 1].timestamp;
	const span = Math.max(1, t1 - t0);
	const x = (t) => L + (pts.length === 1 ? (W - L - R) / 2 : (t - t0) / span * (W - L - R));
	const y = (p) => T + (1 - Math.max(0, Math.min(1, p))) * (H - T - B);
	const grid = [0, 0.25, 0.5, 0.75, 1].map((p) => [
		s('line', {x1: L, x2: W - R, y1: y(p), y2: y(p), class: 'grid'}),
		s('text', {x: L - 6, y: y(p) + 4, 'text-anchor': 'end', class: 'axis'}, Math.round(p * 100) + '%'),
	]);
	const line = s('polyline', {class: 'line', fill: 'none',
	    points: pts.map((e) => x(e.timestamp).toFixed(1) + ',' + y(e.percentage).toFixed(1)).join(' ')});
	const dots = pts.map((e) => s('circle', {cx: x(e.timestamp).toFixed(1), cy: y(e.percentage).toFixed(1), r: 4, class: 'dot'},
	    s('title', {}, pct(e.percentage) + ' · ' + (e.device || '—') + ' · ' + fullDate(e.timestamp))));
	const day = (t) => new Date(t * 1000).toLocaleDateString();
	const labels = [s('text', {x: L, y: H - 8, class: 'axis'}, day(t0))];
	if (t1 !== t0) labels.push(s('text', {x: W - R, y: H - 8, 'text-anchor': 'end', class: 'axis'}, day(t1)));
	return h('figure', {class: 'chart'},
	    s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-cap',},
	        grid, line, dots, labels),
	    h('figcaption', {id: 'chart-cap', class: 'muted'}, 'Progress over time: ' + pts.length + ' positions from ' +
	        fullDate(t0) + ' to ' + fullDate(t1) + '.'));
}

// Books that look the same under several hashes.
function sameBookGroups(list) {
	const groups = new Map();
	for (const d of list) {
		const keys = new Set();
		if (d.title) keys.add('t:' + d.title.trim().toLowerCase());
		if (d.filename) keys.add('f:' + d.filename.trim().toLowerCase());
		if (d.pretty_name) keys.add('t:' + d.pretty_name.trim().toLowerCase());
		for (const k of keys) {
			if (!groups.has(k)) groups.set(k, []);
			groups.get(k).push(d);
		}
	}
	const seen = new Set();
	const out = [];
	for (const [k, g] of groups) {
		if (g.length < 2) continue;
		const id = g.map((d) => d.document).sort().join(',');
		if (seen.has(id)) continue;
		seen.add(id);
		out.push({by: k.startsWith('t:') ? 'title' : 'file name', docs: g});
	}
	return out;
}

function docLink(d) {
	return h('a', {href: '#/doc/' + encodeURIComponent(d.document)}, docName(d));
}

async function doctor() {
	const list = await loadDocs(true, Infinity);
	const problems = [];

	for (const g of sameBookGroups(list)) {
		problems.push(h('li', {class: 'problem'},
		    h('h3', {}, 'One book, ' + g.docs.length + ' hashes: ', docName(g.docs[0])),
		    h('p', {}, 'The same ' + g.by + ' was synced under different document hashes, so these copies do not share a position: ',
		        g.docs.map((d, i) => [i ? ', ' : '', docLink(d), ' (', h('code', {}, d.document.slice(0, 8)), ', ', pct(d.percentage), ')'])),
		    h('p', {class: 'fix'}, 'What to do: KOReader hashes the file\'s content, so the devices have different files ' +
		        '(another edition or a re-downloaded copy). Copy one file to every device, or set the same ' +
		        '"document matching method" (file name) in every KOReader\'s Progress sync settings.')));
	}

	const ids = new Map();
	const note = (e) => {
		if (!e.device_id || !e.device) return;
		if (!ids.has(e.device_id)) ids.set(e.device_id, new Set());
		ids.get(e.device_id).add(e.device);
	};
	for (const d of list) {
		note(d);
		for (const e of d.devices || []) note(e);
		for (const e of d.history || []) note(e);
	}
	for (const [id, names] of ids) {
		if (names.size < 2) continue;
		problems.push(h('li', {class: 'problem'},
		    h('h3', {}, 'One device ID, ' + names.size + ' names'),
		    h('p', {}, 'Device ID ', h('code', {}, id), ' reported itself as ', [...names].map((n, i) => [i ? ', ' : '', h('strong', {}, n)]), '.'),
		    h('p', {class: 'fix'}, 'What to do: if these are different devices, one has a copy of the other\'s KOReader ' +
		        'settings, so KOReader cannot tell them apart ("this position came from this device"). ' +
		        'Remove settings.reader.lua\'s device_id on one of them (or reinstall KOReader there). ' +
		        'If one device was only renamed, nothing is wrong.')));
	}

	const WINDOW = 15 * 60;
	for (const d of list) {
		const tl = [...(d.history || []), {percentage: d.percentage, device: d.device, device_id: d.device_id,
		    timestamp: d.timestamp}].filter((e) => e.timestamp > 0 && !e.held).sort((a, b) => a.timestamp - b.timestamp);
		for (let i = 2; i < tl.length; i++) {
			const a = tl[i - 2], b = tl[i - 1], c = tl[i];
			const same = (p, q) => p.device_id ? p.device_id === q.device_id : p.device === q.device;
			if (b.percentage > a.percentage && c.percentage < b.percentage - 0.005 &&
			    !same(b, c) && c.timestamp - b.timestamp <= WINDOW && c.device !== 'kosyncd web') {
				problems.push(h('li', {class: 'problem'},
				    h('h3', {}, 'Moved backwards: ', docLink(d)),
				    h('p', {}, h('strong', {}, c.device || 'A device'), ' moved it back from ', pct(b.percentage), ' to ', pct(c.percentage), ' ',
				        ago(c.timestamp).replace(' ago', ''), ' ago, ', Math.max(1, Math.round((c.timestamp - b.timestamp) / 60)),
				        ' min after ', h('strong', {}, b.device || 'another device'), ' moved it forward.'),
				    h('p', {class: 'fix'}, 'What to do: this is typical of a device that was offline and sent its queued, ' +
				        'older position when it reconnected. Open the book and restore the forward position.')));
				break;
			}
		}
	}

	problems.push(...heldProblems(list));
	setPage('Sync doctor', h('h1', {}, 'Sync doctor'),
	    h('p', {class: 'muted'}, 'Problems the server can see in ' + list.length + ' books.'),
	    problems.length ? h('ul', {class: 'problems'}, problems) :
	        h('div', {class: 'card'}, h('p', {}, 'No problems found.')));
}

async function mergeInto(target, others) {
	for (const d of others) {
		await api('POST', docPath(target.document) + '/merge', {alias: d.document});
	}
}

async function merge() {
	const list = await loadDocs(false, Infinity);
	const groups = sameBookGroups(list);
	// Live updates re-render this page: success goes to the toast.
	const msg = h('p', {role: 'status'});
	const say = (text, bad) => {
		if (!bad) {
			toast(text);
			return;
		}
		msg.className = 'error';
		msg.textContent = text;
	};
	const option = (d) => h('option', {value: d.document}, docName(d) + ' · ' + d.document.slice(0, 8) + ' · ' + pct(d.percentage));
	const keep = h('select', {id: 'merge-keep'}, list.map(option));
	const other = h('select', {id: 'merge-other'}, list.map(option));
	if (list.length > 1) other.selectedIndex = 1;
	const manual = h('form', {class: 'card', onsubmit: async (ev) => {
		ev.preventDefault();
		if (keep.value === other.value) {
			say('Choose two different documents.', true);
			return;
		}
		try {
			await api('POST', docPath(keep.value) + '/merge', {alias: other.value});
			await render(true);
			say('Merged.');
		} catch (e) {
			say(e.message, true);
		}
	}}, h('h2', {}, 'Merge two documents'),
	h('label', {for: 'merge-keep'}, 'Keep'), keep,
	h('label', {for: 'merge-other'}, 'and link to it'), other,
	h('button', {type: 'submit', class: 'primary'}, 'Merge'));

	const merged = list.filter((d) => d.links && d.links.length);
	setPage('Merge', h('h1', {}, 'Merge documents'),
	    h('p', {}, 'KOReader identifies a book by a hash of its file. Different files of the same book ' +
	        '(another edition, a re-download) get different hashes and keep separate positions. Merging links ' +
	        'the hashes: pushes and pulls under any of them then share one position. The newer position wins; ' +
	        'separating them again gives each hash its own record back.'),
	    msg,
	    h('h2', {}, 'Suggestions'),
	    groups.length ? h('ul', {class: 'problems', id: 'suggestions'}, groups.map((g) => h('li', {class: 'problem suggestion'},
	        h('h3', {}, docName(g.docs[0])),
	        h('p', {class: 'muted'}, 'Same ' + g.by + ' under ' + g.docs.length + ' hashes:'),
	        h('ul', {}, g.docs.map((d) => h('li', {}, docLink(d), ' ', h('code', {}, d.document.slice(0, 8)), ' · ', pct(d.percentage), ' · ', d.device || '', ' ', when(d.timestamp)))),
	        h('button', {type: 'button', class: 'primary merge', onclick: async () => {
		        try {
			        await mergeInto(g.docs[0], g.docs.slice(1));
			        await render(true);
			        say('Merged ' + g.docs.length + ' hashes of ' + docName(g.docs[0]) + '.');
		        } catch (e) {
			        say(e.message, true);
		        }
	        }}, 'Merge these ' + g.docs.length)))) :
	        h('p', {class: 'muted'}, 'No books appear under more than one hash.'),
	    list.length > 1 ? manual : null,
	    merged.length ? [h('h2', {}, 'Merged'), h('ul', {class: 'problems'}, merged.map((d) => h('li', {class: 'problem merged'},
	        h('h3', {}, docLink(d)),
	        h('p', {}, 'Also synced as: '),
	        h('ul', {}, d.links.map((a) => h('li', {}, h('code', {}, a), ' ',
	            h('button', {type: 'button', onclick: async () => {
		            try {
			            await api('POST', docPath(d.document) + '/unmerge', {alias: a});
			            await render(true);
			            say('Separated.');
		            } catch (e) {
			            say(e.message, true);
		            }
	            }}, 'Separate'))))))) ] : null);
}

// The account page's device credentials (docs/devices.md): each device its
// own password, shown once; rename, revoke, and "devices only".
async function devicesCard() {
	const card = h('section', {class: 'card', 'aria-labelledby': 'devices-h'});
	const msg = h('p', {role: 'status'});
	const say = (text, bad) => {
		msg.className = bad ? 'error' : '';
		msg.textContent = text;
	};
	let list;
	try {
		list = await api('GET', 'devices');
	} catch (e) {
		card.append(h('h2', {id: 'devices-h'}, 'Device passwords'), h('p', {class: 'muted'}, e.message));
		return card;
	}
	const redraw = async (note) => {
		const fresh = await devicesCard();
		card.replaceWith(fresh);
		if (note) fresh.querySelector('[role=status]').replaceWith(note);
	};
	const rows = list.devices.map((d) => h('tr', {},
	    h('td', {}, d.label, d.revoked ? h('span', {class: 'muted'}, ' (revoked)') : null),
	    h('td', {}, when(d.used), d.device ? ' · ' + d.device : '', d.address ? ' · ' + d.address : ''),
	    h('td', {}, d.revoked ? null : [
		    h('button', {type: 'button', 'aria-label': 'Rename ' + d.label, onclick: async () => {
			    const label = window.prompt('New label for ' + d.label, d.label);
			    if (!label) return;
			    try {
				    await api('PUT', 'devices/' + encodeURIComponent(d.id), {label});
				    await redraw();
			    } catch (e) {
				    say(e.message, true);
			    }
		    }}, 'Rename'), ' ',
		    h('button', {type: 'button', class: 'danger', 'aria-label': 'Revoke ' + d.label, onclick: async () => {
			    if (!window.confirm('Revoke the password of ' + d.label + '? It stops syncing at once.')) return;
			    try {
				    await api('DELETE', 'devices/' + encodeURIComponent(d.id));
				    await redraw();
			    } catch (e) {
				    say(e.message, true);
			    }
		    }}, 'Revoke')])));
	const label = h('input', {id: 'dev-label', maxlength: '100', required: true, placeholder: 'Kobo Libra 2'});
	const add = h('form', {onsubmit: async (ev) => {
		ev.preventDefault();
		try {
			const r = await api('POST', 'devices', {label: label.value});
			const pw = r.password.match(/.{1,4}/g).join(' ');
			await redraw(h('p', {role: 'status'}, 'Password for ', h('strong', {}, label.value), ': ',
			    h('code', {}, pw), ' — type the 16 letters without spaces in KOReader, with the user name ',
			    h('strong', {}, me.username), '. It is not shown again.'));
		} catch (e) {
			say(e.message, true);
		}
	}}, h('label', {for: 'dev-label'}, 'New device'), label,
	    h('button', {type: 'submit', class: 'primary'}, 'Make a password'));
	const only = h('input', {id: 'dev-only', type: 'checkbox', checked: list.devices_only, onchange: async () => {
		try {
			await api('PUT', 'account/devices-only', {on: only.checked});
			say(only.checked ? 'Only device passwords sync now.' : 'The account password syncs again.');
		} catch (e) {
			only.checked = !only.checked;
			say(e.message, true);
		}
	}});
	card.append(h('h2', {id: 'devices-h'}, 'Device passwords'),
	    h('p', {class: 'muted'}, 'Give each e-reader a password of its own: revoke it if the device is lost; ' +
	        'changing the account password does not affect it.'),
	    rows.length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Device'), h('th', {}, 'Last used'), h('th', {}, ''))),
	        h('tbody', {}, rows)) : null,
	    add,
	    h('label', {class: 'check'}, only, ' Sync with device passwords only (the account password still signs in here)'),
	    msg);
	return card;
}

// The account's progress policy (docs/policy.md): which push becomes the
// position devices pull.
async function policyCard() {
	const card = h('section', {class: 'card', 'aria-labelledby': 'policy-h'});
	const msg = h('p', {role: 'status'});
	card.append(h('h2', {id: 'policy-h'}, 'Which position wins'));
	let cur;
	try {
		cur = (await api('GET', 'account/policy')).progress_policy;
	} catch (e) {
		card.append(h('p', {class: 'muted'}, e.message));
		return card;
	}
	const choices = [
	    ['latest', 'Latest', 'Every push becomes the position your devices pull, as on the official server.'],
	    ['furthest', 'Furthest', 'A push behind the current position is kept in the history but does not become current.'],
	    ['guard', 'Guard stale replays', 'A device that was offline and sends an older position, without having synced ' +
	        'since, is kept in the history but does not move your position back.'],
	];
	const set = h('fieldset', {}, h('legend', {}, 'Progress policy'), choices.map(([v, label, text]) => {
		const id = 'policy-' + v;
		const radio = h('input', {type: 'radio', name: 'policy', id, value: v, checked: v === cur, onchange: async () => {
			msg.className = '';
			try {
				await api('PUT', 'account/policy', {policy: v});
				msg.textContent = label + ' from now on.';
			} catch (e) {
				msg.className = 'error';
				msg.textContent = e.message;
			}
		}});
		return h('div', {class: 'check'}, radio, ' ', h('label', {for: id}, h('strong', {}, label), ': ', text));
	}));
	card.append(set, h('p', {class: 'muted'}, 'Held-back pushes are marked in each book\'s history, where you can make one current.'), msg);
	return card;
}

async function account() {
	const msg = h('p', {role: 'status'});
	const cur = h('input', {id: 'pw-current', type: 'password', autocomplete: 'current-password', required: true});
	const pw1 = h('input', {id: 'pw-new', type: 'password', autocomplete: 'new-password', required: true});
	const pw2 = h('input', {id: 'pw-repeat', type: 'password', autocomplete: 'new-password', required: true});
	const change = h('form', {class: 'card', onsubmit: async (ev) => {
		ev.preventDefault();
		msg.className = '';
		if (pw1.value !== pw2.value) {
			msg.className = 'error';
			msg.textContent = 'The new passwords differ.';
			return;
		}
		try {
			await api('PUT', 'account/password', {current: cur.value, password: pw1.value});
			change.reset();
			msg.textContent = 'Password changed. Log in again in KOReader on every device with the new password.';
		} catch (e) {
			msg.className = 'error';
			msg.textContent = e.message;
		}
	}},
	h('h2', {}, 'Change password'),
	h('p', {class: 'muted'}, 'Every device that uses the account password then has to log in again (Tools → Progress ' +
	    'sync → Log in) with the new password: until then its pushes and pulls are refused. Devices with a device ' +
	    'password keep syncing. Other browser sessions are signed out.'),
	h('label', {for: 'pw-current'}, 'Current password'), cur,
	h('label', {for: 'pw-new'}, 'New password'), pw1,
	h('label', {for: 'pw-repeat'}, 'New password again'), pw2,
	h('button', {type: 'submit', class: 'primary'}, 'Change password'), msg);

	const dmsg = h('p', {class: 'error', role: 'alert', hidden: true});
	const dpw = h('input', {id: 'del-password', type: 'password', autocomplete: 'current-password', required: true});
	const sure = h('input', {id: 'del-sure', type: 'checkbox', required: true});
	const del = h('form', {class: 'card danger-zone', onsubmit: async (ev) => {
		ev.preventDefault();
		if (!window.confirm('Delete the account ' + me.username + ' and all its reading positions? This cannot be undone.')) return;
		try {
			await api('DELETE', 'account', {password: dpw.value});
			signedOut();
			toast('Account deleted');
		} catch (e) {
			dmsg.textContent = e.message;
			dmsg.hidden = false;
		}
	}},
	h('h2', {}, 'Delete account'),
	h('p', {}, 'Deletes the account ', h('strong', {}, me.username), ' and every position and history stored for it.'),
	h('label', {for: 'del-password'}, 'Password'), dpw,
	h('label', {class: 'check'}, sure, ' I understand that this cannot be undone'),
	dmsg, h('button', {type: 'submit', class: 'danger'}, 'Delete my account'));

	setPage('Account', h('h1', {}, 'Account'), h('p', {class: 'muted'}, 'Signed in as ', h('strong', {}, me.username)),
	    await filesCard(), change, await devicesCard(), await policyCard(), del);
}

/* The account's WebDAV files against its quota; null without file storage. */
async function filesCard() {
	let u;
	try {
		u = await api('GET', 'files/usage');
	} catch (e) {
		return null;
	}
	const used = u.quota_bytes > 0 ? u.bytes / u.quota_bytes : 0;
	return h('section', {class: 'card', 'aria-labelledby': 'files-h'},
	    h('h2', {id: 'files-h'}, 'Files (WebDAV)'),
	    h('p', {}, size(u.bytes) + ' of ' + size(u.quota_bytes) + ' used'),
	    h('p', {class: 'big'}, bar(used, 'Storage used'), h('span', {class: 'pct'}, pct(used))),
	    h('p', {class: 'muted'}, u.entries + ' of ' + u.max_entries + ' files and folders; one file at most ' +
	        size(u.max_file_bytes) + '. KOReader syncs its reading statistics here (Cloud storage, address …/dav/).'));
}

async function admin() {
	if (!me.admin) {
		setPage('Admin', h('h1', {}, 'Admin'), h('p', {}, 'Administrators only.'));
		return;
	}
	const [first, settings] = await Promise.all([page('admin/users', 'users'), api('GET', 'admin/settings')]);
	const users = first.items;
	const msg = h('p', {role: 'status'});
	const say = (text, bad) => {
		msg.className = bad ? 'error' : '';
		msg.textContent = text;
	};
	const userRow = (u) => h('tr', {'data-user': u.username},
	    h('td', {}, u.username),
	    h('td', {class: 'num'}, String(u.documents)),
	    h('td', {class: 'num'}, u.bytes === undefined ? '-' : size(u.bytes)),
	    h('td', {}, (u.devices || []).join(', ')),
	    h('td', {}, when(u.last_sync)),
	    h('td', {class: 'actions'},
	        h('button', {type: 'button', onclick: async () => {
		        const pw = window.prompt('New password for ' + u.username + ':');
		        if (!pw) return;
		        try {
			        await api('PUT', 'admin/users/' + encodeURIComponent(u.username) + '/password', {password: pw});
			        say('Password of ' + u.username + ' reset; their devices must log in again.');
		        } catch (e) {
			        say(e.message, true);
		        }
	        }}, 'Reset password'),
	        h('button', {type: 'button', class: 'danger', onclick: async () => {
		        if (!window.confirm('Delete the user ' + u.username + ' and all their data?')) return;
		        try {
			        await api('DELETE', 'admin/users/' + encodeURIComponent(u.username));
			        if (u.username === me.username) {
				        signedOut();
				        return;
			        }
			        await render(true);
			        say('Deleted ' + u.username + '.');
		        } catch (e) {
			        say(e.message, true);
		        }
	        }}, 'Delete')));
	const rows = users.map(userRow);
	const tbody = h('tbody', {}, rows);
	let usersNext = first.next;
	const moreUsers = h('button', {type: 'button', id: 'more-users', class: 'more', hidden: !usersNext, onclick: async () => {
		moreUsers.disabled = true;
		try {
			const p = await page('admin/users', 'users', usersNext);
			tbody.append(...p.items.map(userRow));
			usersNext = p.next;
			moreUsers.hidden = !usersNext;
		} catch (e) {
			say(e.message, true);
		}
		moreUsers.disabled = false;
	}}, 'More users');

	const nu = h('input', {id: 'new-user', autocomplete: 'off', required: true, autocapitalize: 'none'});
	const np = h('input', {id: 'new-password', type: 'password', autocomplete: 'new-password', required: true});
	const create = h('form', {class: 'card', onsubmit: async (ev) => {
		ev.preventDefault();
		try {
			await api('POST', 'admin/users', {username: nu.value, password: np.value});
			const name = nu.value;
			await render(true);
			say('Created ' + name + '.');
		} catch (e) {
			say(e.message, true);
		}
	}}, h('h2', {}, 'Create a user'),
	h('label', {for: 'new-user'}, 'Username'), nu,
	h('label', {for: 'new-password'}, 'Password'), np,
	h('button', {type: 'submit', class: 'primary'}, 'Create'));

	const locked = settings.registration_source === 'environment' || settings.registration_source === 'flag';
	const reg = h('input', {id: 'registration', type: 'checkbox', checked: settings.registration, disabled: locked,
	    onchange: async () => {
		    try {
			    const r = await api('PUT', 'admin/settings', {registration: reg.checked});
			    say('Registration from devices is ' + (r.registration ? 'on' : 'off') + '.');
		    } catch (e) {
			    reg.checked = !reg.checked;
			    say(e.message, true);
		    }
	    }});

	setPage('Admin', h('h1', {}, 'Administration'), msg,
	    h('div', {class: 'card'}, h('h2', {}, 'Registration'),
	        h('label', {class: 'check'}, reg, ' New accounts can register from KOReader'),
	        h('p', {class: 'muted'}, locked ? 'Set by the ' + settings.registration_source + '; change it there.' :
	            'Saved in database.json.')),
	    h('h2', {}, 'Users'),
	    h('div', {class: 'scroll'}, h('table', {class: 'users'},
	        h('thead', {}, h('tr', {}, ['User', 'Books', 'Stored', 'Devices', 'Last sync', 'Actions'].map((t) => h('th', {}, t)))),
	        tbody)),
	    moreUsers,
	    create);
}

// Start

$('#signout').addEventListener('click', async () => {
	try {
		await api('POST', 'logout');
	} catch (e) {
		// Signed out either way.
	}
	signedOut();
});

window.addEventListener('hashchange', () => {
	if (me) render();
});

(async () => {
	try {
		const who = await api('GET', 'session');
		if (!who.username) {
			showLogin();
			return;
		}
		me = who;
		start();
	} catch (e) {
		if (e.status !== 401) setPage('Error', errorBox(e));
	}
})();
