// app.js: the kosyncd web interface (no framework, no build step).
//
// Pages are hash routes (#/, #/books, #/book/<id>, #/doc/<id>, #/devices, #/stats, #/doctor,
// #/merge, #/account, #/admin) rendered into <main> from the JSON API under api/v1/ (relative to
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

// A book's name for a sentence: its title, or, when it has none (KOReader
// sends no title), "an untitled book" and the start of its hash.
function bookLabel(d) {
	const n = d.pretty_name || d.title || d.filename;
	return n || 'Untitled book ' + d.document.slice(0, 8);
}

// The device name of the web interface's own restores (CHANGE_WEB_DEVICE,
// src/change.h): pushed with no device_id. Shown as the user's action.
const WEB_DEVICE = 'kosyncd web';

function isWebEntry(e) {
	return Boolean(e) && e.device === WEB_DEVICE && !e.device_id;
}

// Device names the account gave (api/v1/device-names): a device's key
// (its device_id, else its device name) -> {device, name, forgotten}.
let devNames = new Map();

function devKey(e) {
	return (e && (e.device_id || e.device)) || '';
}

async function loadDevNames() {
	try {
		const r = await api('GET', 'device-names');
		devNames = new Map(r.device_names.map((n) => [n.device, n]));
	} catch (e) {
		if (e.status === 401) throw e;
		devNames = new Map();
	}
}

// Forgotten: the account forgot the device after it last synced (at last).
function devForgotten(key, last) {
	const n = devNames.get(key);
	return Boolean(n && n.forgotten && last <= n.forgotten);
}

// Who set a position: the device (by the name the account gave it, when
// it did), or "you, on the web" for a restore here.
function devName(e) {
	if (isWebEntry(e)) return 'you, on the web';
	const n = devNames.get(devKey(e));
	if (n && n.name) return n.name;
	return (e && e.device) || 'unknown device';
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

// A modal <dialog> that asks before something is done: title, content
// (elements), the label of its button. check(), when given, runs on that
// button and returns an error to show (the dialog stays) or null. Resolves
// true when confirmed, false on Cancel or Escape; focus goes back to where
// it was.
function ask(title, content, okLabel, check) {
	return new Promise((resolve) => {
		const opener = document.activeElement;
		const err = h('p', {class: 'error', role: 'alert', hidden: true});
		const dlg = h('dialog', {class: 'modal', 'aria-labelledby': 'modal-h'});
		const form = h('form', {method: 'dialog', onsubmit: (ev) => {
			if (!ev.submitter || ev.submitter.value !== 'ok' || !check) return;
			const bad = check();
			if (bad) {
				ev.preventDefault();
				err.textContent = bad;
				err.hidden = false;
			}
		}}, h('h2', {id: 'modal-h'}, title), content, err,
		h('div', {class: 'buttons'},
		    h('button', {type: 'submit', value: 'cancel', formnovalidate: true}, 'Cancel'),
		    h('button', {type: 'submit', value: 'ok', class: 'primary'}, okLabel)));
		dlg.append(form);
		dlg.addEventListener('close', () => {
			dlg.remove();
			if (opener && opener.isConnected) opener.focus();
			resolve(dlg.returnValue === 'ok');
		});
		document.body.append(dlg);
		dlg.showModal();
	});
}

// A new password, typed twice in a dialog: the password, or null.
async function askPassword(title, note) {
	const pw1 = h('input', {id: 'dlg-pw', type: 'password', autocomplete: 'new-password', required: true});
	const pw2 = h('input', {id: 'dlg-pw2', type: 'password', autocomplete: 'new-password', required: true});
	const ok = await ask(title, [h('p', {class: 'muted'}, note),
		h('label', {for: 'dlg-pw'}, 'New password'), pw1,
		h('label', {for: 'dlg-pw2'}, 'New password again'), pw2], 'Set password',
	() => pw1.value !== pw2.value ? 'The two passwords differ.' : null);
	return ok ? pw1.value : null;
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
	$('#nav-books').hidden = !me.library;
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
			toast(syncedText(docs.find((x) => isDoc(x, d.document))));
		}
	} else if ((route.page === 'books' || route.page === 'book') && d.kind === 'push') {
		// The progress shown moved; the page keeps its place.
		await render(true);
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

// The toast of a push: the book by name, and who moved it.
function syncedText(doc) {
	if (!doc) return 'A book was synced';
	if (isWebEntry(doc)) return bookLabel(doc) + ': your restore was saved';
	return bookLabel(doc) + ' was synced' + (doc.device ? ' from ' + devName(doc) : '');
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
	        scrollBox('Days read, as a table', h('table', {class: 'days'},
	            h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Day'), h('th', {scope: 'col'}, 'Time'),
	                h('th', {scope: 'col'}, 'Pages'))),
	            h('tbody', {}, days.slice().reverse().map((d) => h('tr', {},
	                h('td', {}, longDate(d.date)), h('td', {class: 'num'}, dur(d.seconds)),
	                h('td', {class: 'num'}, d.pages))))))));
}

// The link to a book's own page (#/stats/<md5>).
function bookLink(b) {
	const name = b.title || b.md5 || '—';
	return b.md5 ? h('a', {class: 'title', href: '#/stats/' + encodeURIComponent(b.md5)}, name) : h('span', {class: 'title'}, name);
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

// Hour x weekday: a circle per hour, its area the time read then.
function punchCard(grid) {
	const C = 26, L = 40, T = 18;
	const W = L + 24 * C, H = T + 7 * C;
	const max = Math.max(1, ...grid.flat());
	let best = [0, 0, 0];
	const dots = [];
	grid.forEach((row, wd) => row.forEach((sec, hr) => {
		if (sec > best[2]) best = [wd, hr, sec];
		if (!sec) return;
		const r = Math.max(2, Math.sqrt(sec / max) * (C / 2 - 1));
		dots.push(s('circle', {cx: L + hr * C + C / 2, cy: T + wd * C + C / 2, r: r.toFixed(1), class: 'col'},
		    s('title', {}, WEEKDAYS[wd] + ' ' + hr + ':00–' + (hr + 1) + ':00: ' + dur(sec))));
	}));
	const axes = [WEEKDAYS.map((n, i) => s('text', {x: 0, y: T + i * C + C / 2 + 4, class: 'axis'}, n.slice(0, 3))),
		[0, 6, 12, 18].map((hr) => s('text', {x: L + hr * C + 2, y: T - 5, class: 'axis'}, hr + ':00'))];
	const cap = best[2] ? 'When you read, by weekday and hour of the day: most on ' + WEEKDAYS[best[0]] + 's from ' +
	    best[1] + ':00 (' + dur(best[2]) + ').' : 'When you read, by weekday and hour: no reading yet.';
	return h('figure', {class: 'chart heat punch'},
	    h('div', {class: 'scroll', tabindex: '0', role: 'group', 'aria-label': 'Reading by weekday and hour'},
	        s('svg', {viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': cap}, axes, dots)),
	    h('figcaption', {class: 'muted'}, cap),
	    h('details', {}, h('summary', {}, 'The hours as a table (minutes)'),
	        scrollBox('Reading by weekday and hour, as a table', h('table', {class: 'punch-table'},
	            h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Day'),
	                Array.from({length: 24}, (_, hr) => h('th', {scope: 'col', class: 'num'}, String(hr))))),
	            h('tbody', {}, grid.map((row, wd) => h('tr', {}, h('th', {scope: 'row'}, WEEKDAYS[wd]),
	                row.map((sec) => h('td', {class: 'num'}, sec ? String(Math.round(sec / 60)) : '')))))))));
}

// Months or years as a table, the newest first.
function spanTable(list, what) {
	const name = (x) => what === 'Month' ?
	    new Date(x.from + 'T12:00:00Z').toLocaleDateString(undefined, {timeZone: 'UTC', year: 'numeric', month: 'long'}) :
	    String(x.year);
	return scrollBox('Reading per ' + what.toLowerCase(), h('table', {class: 'spans'},
	    h('caption', {class: 'sr'}, 'Reading per ' + what.toLowerCase() + ': time, pages, books, days read'),
	    h('thead', {}, h('tr', {}, [what, 'Time', 'Pages', 'Books', 'Days read'].map((t) => h('th', {scope: 'col'}, t)))),
	    h('tbody', {}, list.slice().reverse().map((x) => h('tr', {},
	        h('th', {scope: 'row'}, name(x)), h('td', {class: 'num'}, dur(x.seconds)),
	        h('td', {class: 'num'}, x.pages), h('td', {class: 'num'}, x.books), h('td', {class: 'num'}, x.days))))));
}

// A goal's card: done of goal, with a progress bar.
function goalCard(label, done, goal, text, sub) {
	return h('div', {class: 'stat goal'}, h('span', {class: 'label'}, label), h('strong', {}, text),
	    h('progress', {max: goal, value: Math.min(done, goal), 'aria-label': label + ': ' + text}),
	    sub ? h('span', {class: 'muted'}, sub) : null);
}

function goalCards(g) {
	const cards = [];
	if (g.books_per_year) {
		const done = g.books_finished === null ? 0 : g.books_finished;
		cards.push(goalCard('Books this year', done, g.books_per_year,
		    (g.books_finished === null ? '?' : done) + ' of ' + g.books_per_year,
		    'on pace: ' + g.books_expected.toFixed(1)));
	}
	if (g.minutes_per_day) {
		cards.push(goalCard('Today\'s goal', g.today_seconds, g.minutes_per_day * 60,
		    dur(g.today_seconds) + ' of ' + dur(g.minutes_per_day * 60),
		    g.days_met + ' of ' + g.year_days + ' days this year'));
	}
	return cards;
}

// The uploads, newest first: when, from which device and KOReader.
function uploadTable(list) {
	return scrollBox('Uploads', h('table', {class: 'uploads'},
	    h('caption', {class: 'sr'}, 'The last uploads of statistics'),
	    h('thead', {}, h('tr', {}, ['When', 'Device', 'KOReader', 'Size', 'Read'].map((t) => h('th', {scope: 'col'}, t)))),
	    h('tbody', {}, list.map((u) => h('tr', {},
	        h('td', {}, when(u.time)), h('td', {}, u.device || u.user_agent || '—'), h('td', {}, u.koreader || '—'),
	        h('td', {class: 'num'}, size(u.size)), h('td', {}, u.accepted ? 'yes' : h('span', {class: 'error'}, 'refused')))))));
}

// A table that may be wider than a phone, in a box that scrolls sideways;
// reachable by keyboard (tabindex) and named, as a scrollable region must be.
function scrollBox(label, table) {
	return h('div', {class: 'scroll', tabindex: '0', role: 'region', 'aria-label': label}, table);
}

function statsExportLinks() {
	const a = (file, text) => h('a', {href: 'api/v1/stats/export/' + file, download: 'reading-' + file}, text);
	return h('p', {class: 'exports'}, 'Download: ', a('days.csv', 'days (CSV)'), ' · ', a('days.json', 'days (JSON)'), ' · ',
	    a('sessions.csv', 'sessions (CSV)'), ' · ', a('sessions.json', 'sessions (JSON)'));
}

// Bars of seconds per page on each day the book was read (its speed).
function speedChart(days) {
	const W = Math.max(300, Math.min(900, main.clientWidth - 40));
	const H = 150, L = 58, R = 8, T = 10, B = 24;
	const vals = days.map((d) => d.page_seconds || 0);
	const max = Math.ceil(Math.max(60, ...vals) / 30) * 30;
	const bw = (W - L - R) / Math.max(1, days.length);
	const y = (v) => T + (1 - v / max) * (H - T - B);
	const grid = [0, 0.5, 1].map((f) => [
		s('line', {x1: L, x2: W - R, y1: y(max * f), y2: y(max * f), class: 'grid'}),
		s('text', {x: L - 6, y: y(max * f) + 4, 'text-anchor': 'end', class: 'axis'}, dur(max * f))]);
	const bars = days.map((d, i) => s('rect', {x: (L + i * bw + 1).toFixed(1), y: y(vals[i]).toFixed(1),
	    width: Math.max(1, bw - 2).toFixed(1), height: (H - B - y(vals[i])).toFixed(1), class: 'col'},
	    s('title', {}, longDate(d.date) + ': ' + dur(vals[i]) + ' a page, ' + d.pages + ' pages in ' + dur(d.seconds))));
	const labels = days.length ? [s('text', {x: L, y: H - 6, class: 'axis'}, longDate(days[0].date)),
		s('text', {x: W - R, y: H - 6, 'text-anchor': 'end', class: 'axis'}, longDate(days[days.length - 1].date))] : [];
	const avg = days.reduce((a, d) => a + d.seconds, 0) / Math.max(1, days.reduce((a, d) => a + d.pages, 0));
	const cap = 'Time per page on each of the ' + days.length + ' days read: ' + dur(avg) + ' a page on average.';
	return h('figure', {class: 'chart'}, s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': cap}, grid, bars, labels),
	    h('figcaption', {class: 'muted'}, cap));
}

// Pages left after each day read, then dashed to the estimated finish.
function burnDown(b, days) {
	const W = Math.max(300, Math.min(900, main.clientWidth - 40));
	const H = 170, L = 50, R = 10, T = 10, B = 24;
	const pts = days.filter((d) => d.left !== null).map((d) => ({t: Date.parse(d.date), left: d.left, date: d.date}));
	if (!pts.length || !b.pages) return h('p', {class: 'muted'}, 'The book\'s size is not known: no burn-down.');
	const first = {t: pts[0].t - 86400000, left: b.pages};
	const end = b.finish_date ? Date.parse(b.finish_date) : pts[pts.length - 1].t;
	const t0 = first.t, t1 = Math.max(end, pts[pts.length - 1].t + 86400000);
	const x = (t) => L + (t - t0) / (t1 - t0) * (W - L - R);
	const y = (v) => T + (1 - v / b.pages) * (H - T - B);
	const line = [first, ...pts].map((p, i) => (i ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(p.left).toFixed(1)).join(' ');
	const last = pts[pts.length - 1];
	const grid = [0, 0.5, 1].map((f) => [
		s('line', {x1: L, x2: W - R, y1: y(b.pages * f), y2: y(b.pages * f), class: 'grid'}),
		s('text', {x: L - 6, y: y(b.pages * f) + 4, 'text-anchor': 'end', class: 'axis'}, String(Math.round(b.pages * f)))]);
	const proj = b.finish_date && last.left > 0 ? s('path', {d: 'M' + x(last.t).toFixed(1) + ' ' + y(last.left).toFixed(1) +
	    ' L' + x(end).toFixed(1) + ' ' + y(0).toFixed(1), class: 'line proj', fill: 'none'}) : null;
	const dots = pts.map((p) => s('circle', {cx: x(p.t).toFixed(1), cy: y(p.left).toFixed(1), r: 3, class: 'dot'},
	    s('title', {}, longDate(p.date) + ': ' + p.left + ' pages left')));
	const labels = [s('text', {x: L, y: H - 6, class: 'axis'}, longDate(pts[0].date)),
		s('text', {x: W - R, y: H - 6, 'text-anchor': 'end', class: 'axis'}, longDate(b.finish_date || last.date))];
	const cap = last.left + ' of ' + b.pages + ' pages left after ' + longDate(last.date) +
	    (b.finish_date && last.left > 0 ? '; at this pace finished about ' + longDate(b.finish_date) + '.' : '.');
	return h('figure', {class: 'chart'}, s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': cap},
	    grid, s('path', {d: line, class: 'line', fill: 'none'}), proj, dots, labels),
	    h('figcaption', {class: 'muted'}, cap));
}

// The vocabulary builder's words: per book and per month, due now.
function vocabSection(res) {
	const v = res.vocabulary;
	const refused = res.refused ? h('div', {class: 'problem', role: 'alert'},
	    h('p', {}, h('strong', {}, 'The last vocabulary upload was not read: '), res.refused)) : null;
	if (!v) return refused ? [h('h2', {}, 'Vocabulary'), refused] : [];
	const table = (caption, head, rows) => scrollBox(caption, h('table', {class: 'vocab'},
	    h('caption', {class: 'sr'}, caption),
	    h('thead', {}, h('tr', {}, head.map((t) => h('th', {scope: 'col'}, t)))),
	    h('tbody', {}, rows)));
	return [h('h2', {}, 'Vocabulary'), refused,
		h('section', {class: 'stats', 'aria-label': 'Vocabulary'},
		    statCard('Words', String(v.words), v.reviewed + ' reviewed'),
		    statCard('Due for review', String(v.due), 'now')),
		table('Words collected per book, the most first', ['Book', 'Words', 'Due'],
		    v.books.map((b) => h('tr', {}, h('td', {}, b.title || '(no book)'),
		        h('td', {class: 'num'}, b.words), h('td', {class: 'num'}, b.due)))),
		table('Words collected per month, the latest first', ['Month', 'Words'],
		    v.months.slice().reverse().map((m) => h('tr', {},
		        h('td', {}, new Date(m.month + '-15T12:00:00Z').toLocaleDateString(undefined,
		            {timeZone: 'UTC', year: 'numeric', month: 'long'})),
		        h('td', {class: 'num'}, m.words))))];
}

// A book's own page: #/stats/<md5>.
async function statsBook(md5) {
	const o = await api('GET', 'stats/books/' + encodeURIComponent(md5));
	const b = o.book, days = o.days;
	const authors = b.authors && b.authors !== 'N/A' ? b.authors.split('\n').join(', ') : null;
	const avg = (x) => x === null ? '—' : dur(x);
	setPage(b.title || md5, h('p', {}, h('a', {href: '#/stats'}, '← Reading')),
	    h('h1', {}, b.title || md5), authors ? h('p', {class: 'authors'}, authors) : null,
	    h('section', {class: 'stats', 'aria-label': 'This book'},
	        statCard('Total time', dur(b.seconds), 'reading time ' + dur(b.capped_seconds)),
	        statCard('Pages read', b.pages ? b.pages_read + ' / ' + b.pages : String(b.pages_read),
	            b.last_page ? 'last at page ' + b.last_page : null),
	        statCard('Days read', String(b.days), b.best_day ? 'best ' + longDate(b.best_day.date) + ', ' + dur(b.best_day.seconds) : null),
	        statCard('Per page', avg(b.avg_page_seconds), 'per day ' + avg(b.avg_day_seconds)),
	        statCard('Sessions', String(b.sessions.count), 'longest ' + dur(b.sessions.longest) + ', average ' + avg(b.sessions.average)),
	        statCard('Time left', b.time_left === null ? '—' : dur(b.time_left),
	            b.finish_date ? 'finished about ' + longDate(b.finish_date) : null)),
	    h('h2', {}, 'Pages left'), burnDown(b, days),
	    h('h2', {}, 'Speed'), speedChart(days),
	    h('h2', {}, 'Sessions'),
	    h('p', {class: 'muted'}, 'A session ends where a page stays unturned for more than ' + dur(o.settings.session_gap) + '.'),
	    scrollBox('Sessions', h('table', {class: 'sessions'},
	        h('caption', {class: 'sr'}, 'Sessions of this book, the latest first'),
	        h('thead', {}, h('tr', {}, ['Started', 'Time', 'Page turns', 'Ended'].map((t) => h('th', {scope: 'col'}, t)))),
	        h('tbody', {}, o.sessions.slice().reverse().map((x) => h('tr', {},
	            h('td', {}, when(x.start)), h('td', {class: 'num'}, dur(x.seconds)),
	            h('td', {class: 'num'}, x.turns), h('td', {}, when(x.end))))))));
}

function bookTable(books) {
	const list = books.slice().sort((a, b) => b.last_read - a.last_read);
	return scrollBox('Books', h('table', {class: 'books'},
	    h('caption', {class: 'sr'}, 'Per book: time read, pages, days, average per page, last read'),
	    h('thead', {}, h('tr', {},
	        ['Book', 'Time', 'Pages read', 'Days', 'Per page', 'Last read'].map((t) => h('th', {scope: 'col'}, t)))),
	    h('tbody', {}, list.map((b) => h('tr', {},
	        h('td', {}, bookLink(b),
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
	const g = o.goals || {};
	const books = h('input', {id: 'stats-goal-books', type: 'number', min: 0, max: 10000, step: 1, inputmode: 'numeric',
	    value: g.books_per_year || ''});
	const mins = h('input', {id: 'stats-goal-minutes', type: 'number', min: 0, max: 1440, step: 1, inputmode: 'numeric',
	    value: g.minutes_per_day || ''});
	return h('form', {class: 'card', onsubmit: async (ev) => {
		ev.preventDefault();
		msg.className = '';
		try {
			await api('PUT', 'stats/settings', {timezone: tz.value.trim(), day_start: start.value,
				goals: {books_per_year: books.value === '' ? 0 : Number(books.value),
					minutes_per_day: mins.value === '' ? 0 : Number(mins.value)}});
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
	h('h2', {}, 'Goals'),
	h('label', {for: 'stats-goal-books'}, 'Books to finish in a year'), books,
	h('label', {for: 'stats-goal-minutes'}, 'Minutes to read a day'), mins,
	h('p', {class: 'muted'}, 'Empty or 0: no goal.'),
	h('button', {type: 'submit', class: 'primary'}, 'Save'), msg);
}

async function stats(md5) {
	if (md5) return statsBook(md5);
	const [o, vocab] = await Promise.all([api('GET', 'stats'), api('GET', 'stats/vocabulary')]);
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
		    vocabSection(vocab), statsSettings(o));
		return;
	}
	const today = o.overview.today.to;
	const [daysRes, booksRes, per] = await Promise.all([
		api('GET', 'stats/days?from=' + addDays(today, -371) + '&to=' + today),
		api('GET', 'stats/books'),
		api('GET', 'stats/periods'),
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
	        statCard('Books', String(o.books), dur(ov.seconds) + ' in all'),
	        goalCards(o.goals)),
	    h('h2', {}, 'The last year'), heatmap(byDate, today),
	    h('h2', {}, 'The last 30 days'), dayBars(byDate, today),
	    h('h2', {}, 'Hours and weekdays'), punchCard(per.punchcard),
	    h('h2', {}, 'Months'), spanTable(per.months, 'Month'),
	    h('h2', {}, 'Years'), spanTable(per.years, 'Year'),
	    h('h2', {}, 'Books'), bookTable(booksRes.books),
	    h('h2', {}, 'Export'), statsExportLinks(),
	    vocabSection(vocab),
	    h('h2', {}, 'Uploads'), uploadTable(o.uploads),
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

// Draws run one at a time, each for the route current when it starts, so
// a slow draw of the page just left (a live update in flight) never
// lands over the page navigated to. Calls while one is queued join it;
// the promise settles once a draw begun after the call has finished.
let drawTail = Promise.resolve();
let drawQueued = null;

function render(quiet) {
	if (drawQueued) {
		drawQueued.quiet = drawQueued.quiet && Boolean(quiet);
		return drawQueued.done;
	}
	const q = {quiet: Boolean(quiet)};
	q.done = drawTail.then(() => {
		drawQueued = null;
		return draw(q.quiet);
	});
	drawQueued = q;
	drawTail = q.done.catch(() => {});
	return q.done;
}

async function draw(quiet) {
	route = parseRoute();
	for (const a of document.querySelectorAll('#nav a')) {
		const target = a.getAttribute('href').replace(/^#\/?/, '') || 'library';
		if (target === route.page) a.setAttribute('aria-current', 'page');
		else a.removeAttribute('aria-current');
	}
	const pages = {library, books, book: bookPage, doc: docPage, devices: devicesPage, stats, doctor, merge, account, admin};
	const fn = pages[route.page] || library;
	// A live update draws the page anew: focus stays where it was.
	const had = quiet && main.contains(document.activeElement) ? document.activeElement.id : '';
	try {
		if (me) await loadDevNames();
		await fn(route.arg, quiet);
	} catch (e) {
		if (e.status === 401) return;
		setPage('Error', errorBox(e));
	}
	if (!quiet) focusHeading();
	else if (had && !main.contains(document.activeElement) && document.getElementById(had)) focusHeading('#' + had);
}

// After a page change focus goes to its heading (announced, and no
// outline around the whole page); <main> when it has none.
function focusHeading(sel) {
	const el = (sel && main.querySelector(sel)) || main.querySelector('h1') || main;
	// Only what cannot take focus by itself gets tabindex -1.
	if (el !== main && el.tabIndex < 0 && !el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
	el.focus({preventScroll: true});
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

// The library's view: search, sort, filters and how many are shown; kept
// across live updates and visits in this tab.
const LIB_PAGE = 100;
const libView = {q: '', sort: 'recent', status: 'all', device: '', count: LIB_PAGE};
const FINISHED = 0.99; // a book at 99 % or more counts as finished

// The device names of a book (as devName says them): its latest and every
// device's position.
function docDevices(d) {
	const out = new Set();
	if (d.device && !isWebEntry(d)) out.add(devName(d));
	for (const e of d.devices || []) if (e.device && !isWebEntry(e)) out.add(devName(e));
	return out;
}

// The devices of the list by key: {key, name (devName), own (the name it
// sends), last (seen), books: [{d, e}]}, the newest first; forgotten ones
// (devForgotten) left out and counted in hidden.
function deviceList(list) {
	const devs = new Map();
	for (const d of list) {
		const seen = new Map();
		for (const e of [d, ...(d.devices || [])]) {
			if (!e.device || isWebEntry(e)) continue;
			const k = devKey(e);
			if (!seen.has(k) || seen.get(k).timestamp < e.timestamp) seen.set(k, e);
		}
		for (const [key, e] of seen) {
			if (!devs.has(key)) devs.set(key, {key, name: devName(e), own: e.device, last: 0, books: []});
			const v = devs.get(key);
			v.last = Math.max(v.last, e.timestamp);
			v.books.push({d, e});
		}
	}
	const all = [...devs.values()].sort((a, b) => b.last - a.last);
	const shown = all.filter((v) => !devForgotten(v.key, v.last));
	return {shown, hidden: all.length - shown.length};
}

// The library filtered and sorted as libView says.
function libSelect(list) {
	const v = libView;
	const q = v.q.trim().toLowerCase();
	const byName = (a, b) => docName(a).localeCompare(docName(b), undefined, {sensitivity: 'base', numeric: true});
	const cmp = {
		recent: (a, b) => b.timestamp - a.timestamp,
		title: byName,
		progress: (a, b) => b.percentage - a.percentage || byName(a, b),
	}[v.sort] || ((a, b) => b.timestamp - a.timestamp);
	return list.filter((d) => (!q || [docName(d), d.authors, d.filename, d.title, d.document]
	    .some((t) => t && t.toLowerCase().includes(q))) &&
	    (v.status === 'all' || (v.status === 'finished') === (d.percentage >= FINISHED)) &&
	    (!v.device || docDevices(d).has(v.device))).sort(cmp);
}

async function library(_arg, quiet) {
	if (!quiet) libView.count = LIB_PAGE;
	// Every page of the list (500 a request): sorting and filters see every
	// book; the page shows LIB_PAGE more at a time.
	const list = await loadDocs(false, Infinity);
	const devices = new Set(deviceList(list).shown.map((v) => v.name));
	if (libView.device && !devices.has(libView.device)) devices.add(libView.device);
	const search = h('input', {id: 'search', type: 'search', placeholder: 'Search title, author, file',
	    value: libView.q, autocomplete: 'off'});
	const choice = (id, label, options, key) => {
		const sel = h('select', {id}, options.map(([v, t]) => h('option', {value: v, selected: libView[key] === v}, t)));
		sel.addEventListener('change', () => {
			libView[key] = sel.value;
			libView.count = LIB_PAGE;
			fill();
		});
		return h('div', {class: 'field'}, h('label', {for: id}, label), sel);
	};
	const tools = h('div', {class: 'tools', role: 'group', 'aria-label': 'Sort and filter'},
	    h('div', {class: 'field grow'}, h('label', {for: 'search'}, 'Search'), search),
	    choice('lib-sort', 'Sort by', [['recent', 'Recently read'], ['title', 'Title'], ['progress', 'Progress']], 'sort'),
	    choice('lib-status', 'Show', [['all', 'All books'], ['reading', 'Reading'], ['finished', 'Finished']], 'status'),
	    choice('lib-device', 'Device', [['', 'Any device'], ...[...devices].sort().map((n) => [n, n])], 'device'));
	const ul = h('ul', {class: 'library', id: 'library'});
	const count = h('p', {class: 'muted', id: 'count', role: 'status'});
	const names = new Map();
	for (const d of list) names.set(docName(d), (names.get(docName(d)) || 0) + 1);
	const more = h('button', {type: 'button', id: 'more', class: 'more', onclick: () => {
		const first = ul.children.length;
		libView.count += LIB_PAGE;
		fill();
		// Keyboard users go on from the first new book.
		const next = ul.children[first];
		if (next && document.activeElement === more) next.querySelector('a').focus();
	}}, 'More');
	const fill = () => {
		const shown = libSelect(list);
		ul.replaceChildren(...shown.slice(0, libView.count).map((d) => docItem(d, names.get(docName(d)) > 1)));
		const n = Math.min(shown.length, libView.count);
		count.textContent = list.length === 0 ? '' : (n < shown.length ? n + ' of ' + shown.length + ' shown; ' : '') +
		    shown.length + (shown.length === list.length ? ' books' : ' of ' + list.length + ' books');
		more.hidden = shown.length <= libView.count;
		// The books these documents are (covers, titles), when the library has them.
		const docsShown = shown.slice(0, libView.count);
		joinDocs(docsShown).then(() => showJoins(ul, docsShown)).catch(() => {});
	};
	// The next LIB_PAGE when "More" scrolls into view.
	if (window.IntersectionObserver) {
		new IntersectionObserver((seen) => {
			if (seen.some((x) => x.isIntersecting) && !more.hidden && more.isConnected) more.click();
		}).observe(more);
	}
	search.addEventListener('input', () => {
		libView.q = search.value;
		libView.count = LIB_PAGE;
		fill();
	});
	fill();
	const empty = list.length === 0 ? h('div', {class: 'card'},
	    h('p', {}, 'Nothing synced yet.'),
	    h('p', {class: 'muted'}, 'In KOReader, open a book, then Tools → Progress sync → Push progress now.')) : null;
	const hadFocus = document.activeElement && document.activeElement.id;
	setPage('Library', h('div', {class: 'head'}, h('h1', {}, 'Library'),
	    h('a', {href: '#/devices'}, 'Your devices')),
	    list.length ? tools : null, count, empty, ul, more, exportLinks());
	if (hadFocus && document.getElementById(hadFocus)) document.getElementById(hadFocus).focus();
}

// Books: the library index (api/v1/library, docs/library.md): the books
// of the administrator's folders and the account's uploads, with covers,
// joined to the positions by their files' partial and file-name MD5s.
// The server pages, sorts and filters by title, author, series, language
// and words; what depends on the account's positions (recently read,
// progress, reading, finished, device) is worked out here from the
// account's documents, which are few next to a large library.

const BOOKS_PAGE = 60;
const BOOKS_DOCS = 100; // document ids in one request (LIBAPI_MAX_DOCS is 200)
const COVER_W = 120; // the grid's cover, CSS pixels (2:3)
const COVER_H = 180;
const bookView = {q: '', sort: 'title', status: 'all', author: '', series: '', language: '', device: '', offset: 0,
	cursor: null, next: null}; // cursor: how the page at offset was reached (by Next); next: the following page's

function bookLayout() {
	try {
		return localStorage.getItem('kosyncd.books.layout') === 'list' ? 'list' : 'grid';
	} catch (e) {
		return 'grid';
	}
}

function setBookLayout(v) {
	try {
		localStorage.setItem('kosyncd.books.layout', v);
	} catch (e) {
		// Not remembered (storage off): this page keeps it.
	}
}

// The query string of the view's server-side filters.
function bookFilters() {
	const q = [];
	if (bookView.q.trim()) q.push('q=' + encodeURIComponent(bookView.q.trim()));
	for (const k of ['author', 'series', 'language']) if (bookView[k]) q.push(k + '=' + encodeURIComponent(bookView[k]));
	return q;
}

// The documents of the account by id (each merged id too): {id -> doc}.
function docIndex(list) {
	const m = new Map();
	for (const d of list) {
		m.set(d.document, d);
		for (const a of d.links || []) m.set(a, d);
	}
	return m;
}

// The position document of book b (the newest of its files' documents), or null.
function bookDoc(b, byId) {
	let best = null;
	for (const f of b.files || []) {
		for (const id of [f.partial_md5, f.filename_md5]) {
			const d = byId.get(id);
			if (d && (!best || d.timestamp > best.timestamp)) best = d;
		}
	}
	return best;
}

function bookAuthors(b) {
	return (b.authors || []).join(', ');
}

// A book's cover (lazy, its size set), or a placeholder with its title.
function coverImg(b, w, hgt) {
	if (!b.has_cover) {
		return h('div', {class: 'cover none', 'aria-hidden': 'true'}, h('span', {}, b.title || 'Untitled'));
	}
	return h('img', {class: 'cover', src: 'api/v1/library/' + encodeURIComponent(b.id) + '/cover?size=' + (w * 2) + 'x' + (hgt * 2),
	    loading: 'lazy', width: String(w), height: String(hgt), alt: ''});
}

function bookCard(b, d) {
	const name = b.title || 'Untitled';
	return h('li', {class: 'bk', 'data-book': b.id},
	    h('a', {href: '#/book/' + encodeURIComponent(b.id), class: 'bk-link'},
	        coverImg(b, COVER_W, COVER_H),
	        h('span', {class: 'bk-title'}, name)),
	    b.authors && b.authors.length ? h('span', {class: 'bk-authors'}, bookAuthors(b)) : null,
	    b.series ? h('span', {class: 'bk-series'}, b.series + (b.series_index !== undefined ? ' #' + b.series_index : '')) : null,
	    d ? h('span', {class: 'progress'}, bar(d.percentage, 'Progress of ' + name), h('span', {class: 'pct'}, pct(d.percentage))) : null);
}

// The books of the account's documents in the view's order, with their
// document: [{b, d}]. The documents go to the server BOOKS_DOCS at a time.
async function booksOfDocs(list) {
	const v = bookView;
	let ds = list.filter((d) => (v.status === 'all' || v.status === 'reading' && d.percentage < FINISHED ||
	    v.status === 'finished' && d.percentage >= FINISHED) && (!v.device || docDevices(d).has(v.device)));
	ds = ds.sort(v.sort === 'progress' ? (a, b) => b.percentage - a.percentage || b.timestamp - a.timestamp :
	    (a, b) => b.timestamp - a.timestamp);
	const ids = [];
	for (const d of ds) ids.push(d.document, ...(d.links || []));
	const byId = docIndex(ds);
	const seen = new Map();
	const filters = bookFilters();
	for (let i = 0; i < ids.length; i += BOOKS_DOCS) {
		const q = ['limit=200', 'docs=' + ids.slice(i, i + BOOKS_DOCS).join(','), ...filters];
		const r = await api('GET', 'library?' + q.join('&'));
		for (const b of r.books) if (!seen.has(b.id)) seen.set(b.id, {b, d: bookDoc(b, byId)});
	}
	const rank = new Map(ds.map((d, i) => [d, i]));
	const out = [...seen.values()].filter((x) => x.d);
	if (v.sort === 'title' || v.sort === 'author' || v.sort === 'added') {
		const key = {title: (x) => x.b.sort_title || x.b.title, author: (x) => x.b.author_sort || bookAuthors(x.b),
		    added: (x) => -x.b.added}[v.sort];
		out.sort((a, b) => typeof key(a) === 'number' ? key(a) - key(b) :
		    String(key(a)).localeCompare(String(key(b)), undefined, {sensitivity: 'base', numeric: true}));
	} else {
		out.sort((a, b) => rank.get(a.d) - rank.get(b.d));
	}
	return out;
}

let booksCache = null; // {key, items}: booksOfDocs's answer for a view

// One page of the view: {items: [{b, d}], total, note}.
async function booksPage(list) {
	const v = bookView;
	const byId = docIndex(list);
	const fromDocs = v.sort === 'recent' || v.sort === 'progress' || v.status === 'reading' ||
	    v.status === 'finished' || v.device;
	if (fromDocs) {
		// The view and the documents' state: a push makes it anew.
		const key = JSON.stringify([v.q, v.sort, v.status, v.author, v.series, v.language, v.device, list.length,
		    list.reduce((t, d) => Math.max(t, d.timestamp), 0)]);
		if (!booksCache || booksCache.key !== key) booksCache = {key, items: await booksOfDocs(list)};
		const items = booksCache.items;
		return {items: items.slice(v.offset, v.offset + BOOKS_PAGE), total: items.length};
	}
	// Next follows the server's cursor: a deep page costs no more than the first.
	const at = v.cursor ? 'cursor=' + encodeURIComponent(v.cursor) : 'offset=' + v.offset;
	const q = ['order=' + v.sort, at, 'limit=' + BOOKS_PAGE, ...bookFilters()];
	const r = await api('GET', 'library?' + q.join('&'));
	let items = r.books.map((b) => ({b, d: bookDoc(b, byId)}));
	let note = null;
	if (v.status === 'unread') {
		const n = items.length;
		items = items.filter((x) => !x.d);
		if (n !== items.length) note = (n - items.length) + ' started on this page hidden';
	}
	return {items, total: r.total, note, next: r.next || null};
}

// The values of a facet for a filter (the first LIBRARY_MAX_PAGE).
async function facetValues(kind) {
	if (!me.library) return [];
	try {
		return (await api('GET', 'library/facets/' + kind + '?limit=200')).values;
	} catch (e) {
		return [];
	}
}

async function books(_arg, quiet) {
	if (!me.library) {
		setPage('Books', h('h1', {}, 'Books'), h('div', {class: 'card'}, h('p', {}, 'There is no library with this storage.'),
		    h('p', {class: 'muted'}, 'The library needs the file or Redis storage (docs/library.md).')));
		return;
	}
	if (!quiet) Object.assign(bookView, {offset: 0, cursor: null});
	const [list, authors, series, languages] = await Promise.all([loadDocs(false, Infinity),
	    facetValues('authors'), facetValues('series'), facetValues('languages')]);
	const devices = new Set(deviceList(list).shown.map((x) => x.name));
	const search = h('input', {id: 'book-search', type: 'search', placeholder: 'Title, author, series',
	    value: bookView.q, autocomplete: 'off'});
	const redraw = () => {
		Object.assign(bookView, {offset: 0, cursor: null});
		fill().catch((e) => count.replaceChildren(errorBox(e)));
	};
	const choice = (id, label, options, key) => {
		if (bookView[key] && !options.some(([val]) => val === bookView[key])) options.push([bookView[key], bookView[key]]);
		const sel = h('select', {id}, options.map(([val, t]) => h('option', {value: val, selected: bookView[key] === val}, t)));
		sel.addEventListener('change', () => {
			bookView[key] = sel.value;
			redraw();
		});
		return h('div', {class: 'field'}, h('label', {for: id}, label), sel);
	};
	const facet = (vals) => vals.map((x) => [x.value, x.value + ' (' + x.count + ')']);
	let layout = bookLayout();
	const grid = h('ul', {class: 'books ' + layout, id: 'books'});
	const toggle = (val, label) => h('button', {type: 'button', class: 'layout', 'data-layout': val,
	    'aria-pressed': String(layout === val), onclick: () => {
		    layout = val;
		    setBookLayout(val);
		    grid.className = 'books ' + val;
		    for (const b of document.querySelectorAll('button.layout')) b.setAttribute('aria-pressed', String(b.dataset.layout === val));
	    }}, label);
	const tools = h('div', {class: 'tools', role: 'group', 'aria-label': 'Sort and filter books'},
	    h('div', {class: 'field grow'}, h('label', {for: 'book-search'}, 'Search'), search),
	    choice('book-sort', 'Sort by', [['title', 'Title'], ['author', 'Author'], ['recent', 'Recently read'],
	        ['progress', 'Progress'], ['added', 'Recently added']], 'sort'),
	    choice('book-status', 'Show', [['all', 'All books'], ['reading', 'Reading'], ['finished', 'Finished'],
	        ['unread', 'Not started']], 'status'),
	    choice('book-author', 'Author', [['', 'Any author'], ...facet(authors)], 'author'),
	    choice('book-series', 'Series', [['', 'Any series'], ...facet(series)], 'series'),
	    choice('book-language', 'Language', [['', 'Any language'], ...facet(languages)], 'language'),
	    choice('book-device', 'Device', [['', 'Any device'], ...[...devices].sort().map((n) => [n, n])], 'device'));
	const count = h('p', {class: 'muted', id: 'book-count', role: 'status'});
	const prev = h('button', {type: 'button', id: 'books-prev', onclick: () => go(-BOOKS_PAGE)}, 'Previous');
	const next = h('button', {type: 'button', id: 'books-next', onclick: () => go(BOOKS_PAGE)}, 'Next');
	const pager = h('nav', {class: 'pager', 'aria-label': 'Pages of books'}, prev, next);
	let seq = 0;
	// While a page is on its way the list is aria-busy (tests wait for it).
	const fill = async () => {
		const mine = ++seq;
		grid.setAttribute('aria-busy', 'true');
		const p = await booksPage(list).finally(() => {
			if (mine === seq) grid.setAttribute('aria-busy', 'false');
		});
		if (mine !== seq) return; // a newer view was asked meanwhile
		grid.replaceChildren(...p.items.map((x) => bookCard(x.b, x.d)));
		bookView.next = p.next || null;
		const from = p.total ? bookView.offset + 1 : 0;
		count.textContent = p.total === 0 ? 'No books match.' :
		    from + '–' + (bookView.offset + p.items.length) + ' of ' + p.total + (p.total === 1 ? ' book' : ' books') +
		    (p.note ? ' (' + p.note + ')' : '');
		prev.disabled = bookView.offset === 0;
		next.disabled = bookView.offset + BOOKS_PAGE >= p.total;
		pager.hidden = p.total <= BOOKS_PAGE;
	};
	const go = async (delta) => {
		bookView.cursor = delta > 0 ? bookView.next : null;
		bookView.offset = Math.max(0, bookView.offset + delta);
		await fill().catch((e) => count.replaceChildren(errorBox(e)));
		$('#books-h').focus();
	};
	let timer = null;
	search.addEventListener('input', () => {
		clearTimeout(timer);
		grid.setAttribute('aria-busy', 'true');
		timer = setTimeout(() => {
			bookView.q = search.value;
			redraw();
		}, 250);
	});
	await fill();
	setPage('Books', h('div', {class: 'head'}, h('h1', {id: 'books-h', tabindex: '-1'}, 'Books'),
	    h('div', {class: 'buttons', role: 'group', 'aria-label': 'Show as'}, toggle('grid', 'Covers'), toggle('list', 'List'))),
	    addBooks(() => fill().catch((e) => count.replaceChildren(errorBox(e)))), tools, count, grid, pager);
}

// The formats the library reads (src/library.c library_is_book_name).
const BOOK_EXTS = '.epub,.kepub,.pdf,.cbz,.fb2,.mobi,.azw3,.azw,.djvu,.djv,.txt';

// Upload one file (POST api/v1/library/upload): progress(fraction) as it
// goes; resolves {status, data} (status 0: the connection failed).
function uploadBook(file, progress) {
	return new Promise((resolve) => {
		const x = new XMLHttpRequest();
		x.open('POST', 'api/v1/library/upload');
		x.setRequestHeader('Accept', 'application/json');
		x.setRequestHeader('X-CSRF-Token', me.csrf);
		x.setRequestHeader('X-File-Name', encodeURIComponent(file.name));
		x.upload.addEventListener('progress', (e) => {
			if (e.lengthComputable && e.total > 0) progress(e.loaded / e.total);
		});
		x.addEventListener('load', () => {
			let data = null;
			try {
				data = JSON.parse(x.responseText);
			} catch (e) {
				data = null;
			}
			resolve({status: x.status, data});
		});
		x.addEventListener('error', () => resolve({status: 0, data: null}));
		x.send(file);
	});
}

// The Books page's "Add books": a file picker and a drop zone, several
// files one after the other, each with its progress bar and its result;
// done() once they are all answered (the list drawn anew).
function addBooks(done) {
	const input = h('input', {type: 'file', id: 'books-file', multiple: true, accept: BOOK_EXTS});
	const results = h('ul', {class: 'uploads', id: 'uploads'});
	const said = h('p', {class: 'muted', id: 'uploads-said', role: 'status', 'aria-live': 'polite'});
	let busy = false;
	const send = async (files) => {
		if (busy || files.length === 0) return;
		busy = true;
		input.disabled = true;
		const rows = files.map((f) => {
			const bar = h('progress', {max: '1', value: '0', 'aria-label': 'Upload of ' + f.name});
			const state = h('span', {class: 'up-state'}, 'Waiting');
			const li = h('li', {'data-file': f.name}, h('span', {class: 'up-name'}, f.name), bar, state);
			results.append(li);
			return {f, li, bar, state};
		});
		let added = 0, there = 0, refused = 0;
		said.textContent = 'Uploading ' + files.length + (files.length === 1 ? ' file…' : ' files…');
		for (const r of rows) {
			r.state.textContent = 'Uploading';
			const {status, data} = await uploadBook(r.f, (x) => {
				r.bar.value = x;
			});
			r.bar.value = 1;
			if (status === 201) {
				added++;
				r.li.dataset.result = 'added';
				r.state.textContent = 'Added: ' + data.book.title;
			} else if (status === 200) {
				there++;
				r.li.dataset.result = 'exists';
				r.state.textContent = 'Already there: ' + data.book.title;
			} else {
				refused++;
				r.li.dataset.result = 'refused';
				r.state.textContent = 'Refused: ' + ((data && data.message) || (status ? 'error ' + status : 'the connection failed'));
			}
		}
		said.textContent = [added && added + ' added', there && there + ' already there', refused && refused + ' refused']
		    .filter(Boolean).join(', ') + '.';
		busy = false;
		input.disabled = false;
		input.value = '';
		done();
	};
	input.addEventListener('change', () => send([...input.files]));
	const zone = h('div', {class: 'dropzone', id: 'books-drop'},
	    h('label', {for: 'books-file'}, 'Choose book files, or drop them here'), input,
	    h('p', {class: 'muted'}, 'EPUB, KEPUB, PDF, CBZ, FB2, MOBI, AZW3, DjVu or TXT. Your uploads are listed for you alone; ' +
	        'you can also put books into the folder Books of your WebDAV space (…/dav/Books/).'));
	zone.addEventListener('dragover', (e) => {
		e.preventDefault();
		zone.classList.add('over');
	});
	zone.addEventListener('dragleave', () => zone.classList.remove('over'));
	zone.addEventListener('drop', (e) => {
		e.preventDefault();
		zone.classList.remove('over');
		send([...e.dataTransfer.files]);
	});
	return h('section', {class: 'card', id: 'books-add', 'aria-labelledby': 'books-add-h'},
	    h('h2', {id: 'books-add-h'}, 'Add books'), zone, said, results);
}

// The "Share with every account" checkbox of an upload b (its "id" and
// "shared"), on its book's page and in the administrator's list of
// uploads: a labelled checkbox (attrs: its id, aria-describedby) that
// POSTs api/v1/admin/library/<id>/share, then done(shared, error) draws
// the place anew (shared: the answer's, or b's on an error).
function shareBox(b, attrs, done) {
	const box = h('input', {...attrs, type: 'checkbox', checked: b.shared,
	    onchange: async () => {
		    box.disabled = true;
		    try {
			    const r = await api('POST', 'admin/library/' + encodeURIComponent(b.id) + '/share', {shared: box.checked});
			    done(r.shared, null);
		    } catch (e) {
			    done(b.shared, e);
		    }
	    }});
	return h('label', {class: 'check'}, box, ' Share with every account');
}

// What sharing b or taking it back did, for a status line (named: the
// title said, in a list of several).
function shareSaid(b, shared, e, named) {
	if (e) return {text: e.message, bad: true};
	const t = named ? '\u201c' + b.title + '\u201d ' : '';
	return {text: shared ? 'Shared ' + t + 'with every account.' :
	    'No longer shared: ' + (named ? t + 'is ' : '') + b.owner + "'s alone."};
}

// An upload's share with every account, on its book's page for an
// administrator (the book's "shared"): the card drawn anew from the answer.
function shareCard(b, note) {
	const msg = h('p', {role: 'status', id: 'share-msg', class: note && note.bad ? 'error' : null}, note ? note.text : '');
	const card = h('section', {class: 'card', 'aria-labelledby': 'share-h', id: 'book-share'},
	    h('h2', {id: 'share-h'}, 'Sharing'),
	    h('p', {id: 'share-state'}, 'Uploaded by ', h('strong', {}, b.owner), b.shared ?
		    '; every account sees it.' : '; only ' + b.owner + ' sees it.'),
	    shareBox(b, {id: 'book-shared', 'aria-describedby': 'share-state'}, (shared, e) => {
		    const next = shareCard({...b, shared}, shareSaid(b, shared, e, false));
		    card.replaceWith(next);
		    next.querySelector('#book-shared').focus();
	    }),
	    msg);
	return card;
}

// A book's page: #/book/<id>.
async function bookPage(id) {
	const [{book: b}, list] = await Promise.all([api('GET', 'library/' + encodeURIComponent(id)), loadDocs(false, Infinity)]);
	const byId = docIndex(list);
	const mine = [];
	for (const f of b.files) {
		for (const k of [f.partial_md5, f.filename_md5]) {
			const d = byId.get(k);
			if (d && !mine.includes(d)) mine.push(d);
		}
	}
	// The book's reading statistics (the account's statistics books by md5).
	let statBooks = [];
	try {
		statBooks = (await api('GET', 'stats/books')).books || [];
	} catch (e) {
		if (e.status === 401) throw e;
	}
	const stats = statBooks.filter((s) => b.files.some((f) => f.partial_md5 === s.md5));
	const name = b.title || 'Untitled';
	const row = (label, value) => value ? [h('dt', {}, label), h('dd', {}, value)] : null;
	const idents = (b.identifiers || []).map((x) => (x.scheme ? x.scheme + ': ' : '') + x.value).join(', ');
	const posRows = [];
	for (const d of mine) {
		const entries = [d, ...(d.devices || []).filter((e) => !isWebEntry(e))];
		const seen = new Set();
		for (const e of entries.sort((x, y) => y.timestamp - x.timestamp)) {
			const k = e.device ? devKey(e) : '';
			if (seen.has(k)) continue;
			seen.add(k);
			posRows.push(h('tr', {},
			    h('td', {}, isWebEntry(e) ? 'You, on the web' : devName(e)),
			    h('td', {}, bar(e.percentage, 'Progress on ' + devName(e)), ' ', pct(e.percentage)),
			    h('td', {}, when(e.timestamp)),
			    h('td', {}, h('a', {href: '#/doc/' + encodeURIComponent(d.document)}, 'History'))));
		}
	}
	setPage(name,
	    h('p', {}, h('a', {href: '#/books'}, '← Books')),
	    h('div', {class: 'book-head'},
	        coverImg(b, 200, 300),
	        h('div', {},
	            h('h1', {id: 'book-title'}, name),
	            b.authors.length ? h('p', {class: 'authors'}, bookAuthors(b)) : null,
	            h('dl', {class: 'meta'},
	                row('Series', b.series ? b.series + (b.series_index !== undefined ? ' #' + b.series_index : '') : ''),
	                row('Language', b.language), row('Publisher', b.publisher),
	                row('Identifiers', idents), row('Subjects', (b.tags || []).join(', ')),
	                row('Added', when(b.added)), row('Uploaded by', b.owner)))),
	    me.admin && b.owner ? shareCard(b) : null,
	    b.description ? [h('h2', {}, 'Description'), b.description.split('\n').filter(Boolean).map((p) => h('p', {class: 'desc'}, p))] : null,
	    h('h2', {}, 'Formats'),
	    h('ul', {class: 'formats'}, b.files.map((f) => h('li', {},
	        h('a', {href: 'api/v1/library/files/' + encodeURIComponent(f.id), download: '', class: 'download'},
	            'Download ' + f.format.toUpperCase()),
	        ' ', h('span', {class: 'muted'}, size(f.size) + ' · ' + f.name)))),
	    h('h2', {}, 'Progress'),
	    posRows.length ? scrollBox('Progress by device', h('table', {class: 'positions'},
	        h('thead', {}, h('tr', {}, h('th', {}, 'Device'), h('th', {}, 'Progress'), h('th', {}, 'When'), h('th', {}, 'History'))),
	        h('tbody', {}, posRows))) :
	        h('p', {class: 'muted'}, 'Not started on any device.'),
	    stats.length ? [h('h2', {}, 'Statistics'), stats.map((x) => h('p', {}, bookLink(x)))] : null);
}

// Every account's uploads for an administrator, a page at a time
// (api/v1/admin/library/uploads): title, owner and the share checkbox.
async function uploadsAdmin() {
	const body = h('tbody', {});
	const msg = h('p', {role: 'status', id: 'uploads-msg'});
	const more = h('button', {type: 'button', id: 'more-uploads', class: 'more', onclick: () => fill()}, 'More uploads');
	let cursor = null;
	const row = (u) => {
		const tr = h('tr', {'data-upload': u.id},
		    h('td', {id: 'upl-' + u.id}, u.title),
		    h('td', {id: 'upl-o-' + u.id}, u.owner),
		    h('td', {}, shareBox(u, {id: 'upl-s-' + u.id, 'aria-describedby': 'upl-' + u.id + ' upl-o-' + u.id}, (shared, e) => {
			    const said = shareSaid(u, shared, e, true);
			    const next = row({...u, shared});
			    msg.textContent = said.text;
			    msg.className = said.bad ? 'error' : '';
			    tr.replaceWith(next);
			    next.querySelector('input').focus();
		    })));
		return tr;
	};
	const fill = async () => {
		more.disabled = true;
		try {
			const p = await page('admin/library/uploads', 'uploads', cursor, null);
			body.append(...p.items.map(row));
			cursor = p.next;
			more.hidden = !cursor;
			if (!body.children.length) msg.textContent = 'No account has uploaded a book.';
		} catch (e) {
			msg.textContent = e.message;
			msg.className = 'error';
		}
		more.disabled = false;
	};
	await fill();
	return h('section', {'aria-labelledby': 'uploads-h', id: 'library-uploads'},
	    h('h3', {id: 'uploads-h'}, 'Uploads'),
	    h('p', {class: 'muted'}, 'Every account\u2019s uploads, newest first; each is its account\u2019s alone until shared.'),
	    scrollBox('Table of uploads', h('table', {class: 'lib-uploads'},
	        h('thead', {}, h('tr', {}, ['Book', 'Account', 'Shared'].map((t) => h('th', {scope: 'col'}, t)))), body)),
	    more, msg);
}

// The administrator's view of the library (api/v1/admin/library): the
// folders, the scan and what it skipped; null without a library.
const SKIPPED_PAGE = 25;
async function libraryAdminCard() {
	if (!me.library) return null;
	let st = await api('GET', 'admin/library');
	const state = h('p', {id: 'scan-state', role: 'status'});
	const showState = (s) => state.replaceChildren(...(s.scanning ? ['Scanning now…'] :
	    ['Last scan ', when(s.last_scan), s.last_scan ? ', ' + (s.last_scan_ms / 1000).toFixed(1) + ' s, ' +
	        s.last_scan_read + ' files read' : '']),
	    '. ' + s.books + ' books in ' + s.files + ' files; changes seen by ' + s.watch + '.');
	showState(st);
	const scan = h('button', {type: 'button', id: 'scan-now', onclick: async () => {
		scan.disabled = true;
		try {
			const before = st.last_scan;
			await api('POST', 'admin/library/scan');
			state.textContent = 'Scanning now…';
			for (let i = 0; i < 600; i++) {
				await new Promise((r) => setTimeout(r, 500));
				st = await api('GET', 'admin/library');
				if (!st.scanning && st.last_scan !== before) break;
			}
			showState(st);
			fillSkipped(true);
		} catch (e) {
			state.textContent = e.message;
		}
		scan.disabled = false;
	}}, 'Scan now');
	const skipBody = h('tbody', {});
	let shownSkips = 0;
	const moreSkips = h('button', {type: 'button', id: 'more-skipped', class: 'more', onclick: () => fillSkipped(false)}, 'More skipped files');
	const skipNote = h('p', {class: 'muted', id: 'skipped-count'});
	const fillSkipped = (reset) => {
		if (reset) {
			skipBody.replaceChildren();
			shownSkips = 0;
		}
		const next = st.skipped.slice(shownSkips, shownSkips + SKIPPED_PAGE);
		skipBody.append(...next.map((s) => h('tr', {}, h('td', {}, h('code', {class: 'wrap'}, s.path)), h('td', {}, s.reason))));
		shownSkips += next.length;
		moreSkips.hidden = shownSkips >= st.skipped.length;
		skipNote.textContent = st.skipped_total === 0 ? 'No file was skipped.' : shownSkips + ' of ' + st.skipped_total +
		    ' skipped files shown' + (st.skipped_total > st.skipped.length ? ' (the first ' + st.skipped.length + ' are kept)' : '') + '.';
	};
	fillSkipped(true);
	return h('section', {class: 'card', 'aria-labelledby': 'lib-admin-h', id: 'library-admin'},
	    h('h2', {id: 'lib-admin-h'}, 'Library'),
	    scrollBox('Library folders', h('table', {class: 'sources'},
	        h('thead', {}, h('tr', {}, ['Folder', 'Kind', 'Books', 'Files', 'State'].map((t) => h('th', {scope: 'col'}, t)))),
	        h('tbody', {}, st.sources.map((s) => h('tr', {},
	            h('td', {}, h('code', {class: 'wrap'}, s.path)), h('td', {}, s.kind === 'calibre' ? 'Calibre library' : s.kind),
	            h('td', {class: 'num'}, String(s.books)), h('td', {class: 'num'}, String(s.files)),
	            h('td', {}, s.available ? 'available' : 'not found')))))),
	    h('p', {class: 'muted'}, 'The folders are the option library_paths (docs/library.md); uploads land in ',
	        h('code', {class: 'wrap'}, st.upload_path || '-'), '.'),
	    state, scan,
	    h('h3', {}, 'Skipped files'), skipNote,
	    st.skipped.length ? scrollBox('Skipped files', h('table', {class: 'skipped'},
	        h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'File'), h('th', {scope: 'col'}, 'Reason'))), skipBody)) : null,
	    moreSkips,
	    await uploadsAdmin());
}

// The library's books of the documents with progress: document id ->
// its book, or null when it joins none; each id asked once a page load.
const docBooks = new Map();
async function joinDocs(list) {
	if (!me.library) return;
	const want = list.map((d) => d.document).filter((id) => !docBooks.has(id) && /^[0-9a-f]{32}$/.test(id));
	for (let i = 0; i < want.length; i += BOOKS_DOCS) {
		const ids = want.slice(i, i + BOOKS_DOCS);
		const r = await api('GET', 'library?limit=200&docs=' + ids.join(','));
		for (const id of ids) {
			docBooks.set(id, (r.books || []).find((b) => b.files.some((f) => f.partial_md5 === id || f.filename_md5 === id)) || null);
		}
	}
}

// Each item of ul whose document joins a book: its cover, a link to the
// book's page, and the book's title and authors where the document has
// none of its own.
function showJoins(ul, list) {
	for (const d of list) {
		const b = docBooks.get(d.document);
		const li = ul.querySelector('li[data-document="' + CSS.escape(d.document) + '"]');
		if (!b || !li || li.classList.contains('joined')) continue;
		li.classList.add('joined');
		const title = b.title || 'Untitled';
		li.prepend(h('a', {href: '#/book/' + encodeURIComponent(b.id), class: 'bk-cover', 'aria-label': 'Book page of ' + title},
		    coverImg(b, 40, 60)));
		if (!d.pretty_name && !d.title) {
			li.querySelector('.title').textContent = title;
			if (b.authors.length && !li.querySelector('.authors')) li.append(h('span', {class: 'authors'}, bookAuthors(b)));
		}
	}
}

// Downloads of the account's own data (GET api/v1/export, docs/api.md).
function exportLinks() {
	return h('p', {class: 'muted export'}, 'Export your positions and history: ',
	    h('a', {href: 'api/v1/export?format=json', download: ''}, 'JSON'), ' · ',
	    h('a', {href: 'api/v1/export?format=csv', download: ''}, 'CSV'));
}

// The devices that pushed (the names pushes carry, not device passwords):
// what each reads and when it was last seen; each can be renamed (a name
// of the account's, api/v1/device-names) or forgotten (hidden here and
// from the device filter until it syncs again).
async function devicesPage() {
	const list = await loadDocs(false, Infinity);
	const {shown: all, hidden} = deviceList(list);
	const path = (v) => 'device-names/' + encodeURIComponent(v.key);
	const rename = async (v) => {
		const input = h('input', {id: 'dlg-devname', maxlength: '64', value: v.name === v.own ? '' : v.name,
		    placeholder: v.own, autocomplete: 'off'});
		const ok = await ask('Rename ' + v.name, [h('p', {class: 'muted'},
		    'The name this page, the library and the history show. Empty: the name the device sends (' + v.own + ').'),
		h('label', {for: 'dlg-devname'}, 'Name'), input], 'Rename',
		() => new TextEncoder().encode(input.value.trim()).length > 64 ? 'A name is at most 64 bytes.' : null);
		if (!ok) return;
		await api('PUT', path(v), {name: input.value.trim()});
		toast(input.value.trim() ? 'Renamed to ' + input.value.trim() : v.name + ' shows its own name again');
		await render(true);
	};
	const forget = async (v) => {
		const ok = await ask('Forget ' + v.name + '?', h('p', {},
		    'It is hidden from this page and the device filter until it syncs again. Its positions and history stay.'),
		'Forget');
		if (!ok) return;
		await api('POST', path(v) + '/forget');
		toast('Forgot ' + v.name);
		await render(true);
	};
	const card = (v, i) => {
		const reading = v.books.filter((b) => b.e.percentage < FINISHED).sort((a, b) => b.e.timestamp - a.e.timestamp);
		const done = v.books.length - reading.length;
		return h('section', {class: 'card device', 'aria-labelledby': 'dev-' + i, 'data-device': v.key},
		    h('h2', {id: 'dev-' + i}, v.name),
		    h('p', {class: 'muted'}, 'Last seen ', when(v.last), ' · ', v.books.length + (v.books.length === 1 ? ' book' : ' books'),
		        done ? ', ' + done + ' finished' : '', v.name !== v.own ? ' · sends the name ' + v.own : ''),
		    reading.length ? h('ul', {class: 'reads'}, reading.slice(0, 5).map((b) => h('li', {},
		        docLink(b.d), ' ', h('span', {class: 'pct'}, pct(b.e.percentage)), ' ', h('span', {class: 'muted'}, when(b.e.timestamp))))) :
		        h('p', {}, 'Nothing in progress.'),
		    h('p', {}, h('a', {href: '#/', onclick: () => {
			    Object.assign(libView, {device: v.name, status: 'all', q: ''});
		    }}, 'All ' + v.books.length + ' in the library')),
		    h('p', {class: 'buttons'},
		        h('button', {type: 'button', class: 'rename', 'aria-label': 'Rename ' + v.name,
		            onclick: () => rename(v).catch((e) => toast(e.message))}, 'Rename'), ' ',
		        h('button', {type: 'button', class: 'danger forget', 'aria-label': 'Forget ' + v.name,
		            onclick: () => forget(v).catch((e) => toast(e.message))}, 'Forget')));
	};
	setPage('Devices', h('p', {}, h('a', {href: '#/'}, '← Library')), h('h1', {}, 'Your devices'),
	    h('p', {class: 'muted'}, 'The devices that synced, by the name KOReader sends (Settings → Device name) ' +
	        'or the one you gave them. Device passwords are on the Account page.'),
	    all.length ? all.map(card) : h('div', {class: 'card'}, h('p', {}, 'No device has synced yet.')),
	    hidden ? h('p', {class: 'muted', id: 'forgotten'}, hidden + (hidden === 1 ? ' forgotten device is' : ' forgotten devices are') +
	        ' hidden; each comes back when it syncs again.') : null,
	    exportLinks());
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
	    h('span', {class: 'last muted'}, devName(d), ' · ', when(d.timestamp)));
}

async function restore(d, entry) {
	await api('POST', docPath(d.document) + '/restore',
	    {percentage: entry.percentage, progress: entry.progress});
	toast('Restored ' + pct(entry.percentage) + '; devices jump there at their next sync');
	await render(true);
	// The page was drawn anew: focus goes to the new current position.
	focusHeading('#current');
}

// What a restore button says to a screen reader: which position.
function restoreLabel(e) {
	return 'Restore ' + pct(e.percentage) + ' from ' + devName(e) + ', ' + fullDate(e.timestamp);
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
	        devName(e) + ' current', onclick: () => promote(d, e).catch(fail)}, 'Make current')];
}

async function promote(d, e) {
	await api('POST', docPath(d.document) + '/promote',
	    {timestamp: e.timestamp, percentage: e.percentage, device_id: e.device_id || ''});
	toast('Made ' + pct(e.percentage) + ' from ' + devName(e) + ' current');
	await render(true);
}

// The sync doctor's findings (as doctor() lists them) for documents whose
// newest held-back push was never made current, each with its fix.
function heldProblems(list, fail) {
	const out = [];
	for (const d of list) {
		const held = (d.history || []).filter((e) => e.held && !e.promoted);
		if (!held.length) continue;
		const e = held[held.length - 1];
		out.push({id: 'held:' + d.document + ':' + e.timestamp,
		    label: 'a push was held back: ' + docName(d),
		    title: ['A push was held back: ', docLink(d)],
		    body: h('p', {}, h('strong', {}, devName(e)), ' sent ', pct(e.percentage), ' ', when(e.timestamp),
		        ', but your progress policy kept ', pct(d.percentage), ' current: ', HELD_WHY[e.held] || 'held back', '.'),
		    fix: 'What to do: nothing, if ' + pct(d.percentage) + ' is where you are. Otherwise make the held push ' +
		        'current; the policy is set on the Account page.',
		    action: h('button', {type: 'button', class: 'primary', 'aria-label': 'Make ' + pct(e.percentage) + ' from ' +
		        devName(e) + ' current for ' + docName(d), onclick: () => promote(d, e).catch(fail)}, 'Make current')});
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
	    h('td', {}, devName(e), i === 0 ? h('span', {class: 'tag'}, 'latest') : null),
	    h('td', {}, bar(e.percentage), ' ', pct(e.percentage)),
	    h('td', {}, when(e.timestamp)),
	    h('td', {}, i === 0 ? '' : h('button', {type: 'button', class: 'restore', 'aria-label': restoreLabel(e),
	        onclick: () => restore(d, e).catch(fail)}, 'Restore'))));

	// History, newest first in the list; older pages on demand.
	const hist = (d.history || []).filter((e) => e.timestamp > 0);
	const histRow = (e) => h('li', {},
	    h('span', {class: 'when'}, when(e.timestamp)),
	    h('span', {}, devName(e)),
	    h('span', {class: 'pct'}, pct(e.percentage)),
	    heldNote(d, e, fail),
	    h('button', {type: 'button', class: 'restore', 'aria-label': restoreLabel(e),
	        onclick: () => restore(d, e).catch(fail)}, 'Restore'));
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
	    h('div', {class: 'card', id: 'current', role: 'region', 'aria-label': 'Current position'},
	        h('div', {class: 'big'}, bar(d.percentage, 'Progress'), h('strong', {}, pct(d.percentage))),
	        h('p', {class: 'muted'}, isWebEntry(d) ? 'Restored by you on the web ' : ['Last synced from ', devName(d), ' '],
	            when(d.timestamp)),
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
	    scrollBox('Positions', h('table', {class: 'positions'},
	        h('thead', {}, h('tr', {}, h('th', {}, 'Device'), h('th', {}, 'Progress'), h('th', {}, 'When'), h('th', {}, h('span', {class: 'sr'}, 'Action')))),
	        h('tbody', {}, posRows))),
	    h('h2', {}, 'History'),
	    hist.length ? chart([...hist, current]) : h('p', {class: 'muted'},
	        'No history yet. Restoring a position keeps the replaced one here; ' +
	        'with the option store_history every push does.'),
	    hist.length ? [histList, older] : null,
	    h('h2', {}, 'Delete'), h('p', {class: 'muted'}, 'Removes this book\'s position and history from the server.'), del);
}

// The colours of the history chart's devices, in order (style.css's
// .dev0 ... .dev5; each at least 3:1 against the card, light and dark).
const DEV_COLOURS = 6;

// Date labels for the span t0..t1 (seconds): up to n evenly spaced times,
// written as days, or hours when the span is within a day.
function timeTicks(t0, t1, n) {
	if (t1 <= t0) return [{t: t0, text: new Date(t0 * 1000).toLocaleDateString()}];
	const span = t1 - t0;
	const fmt = (t) => new Date(t * 1000).toLocaleString(undefined, span < 600 ?
	    {hour: '2-digit', minute: '2-digit', second: '2-digit'} : span < 86400 * 2 ?
	    {month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'} :
	    {year: span > 86400 * 300 ? 'numeric' : undefined, month: 'short', day: 'numeric'});
	// Whole seconds: no two labels within a second of each other.
	n = Math.max(2, Math.min(n, Math.floor(span) + 1));
	const out = [];
	for (let i = 0; i < n; i++) {
		const t = Math.round(t0 + span * i / (n - 1));
		const text = fmt(t);
		if (!out.length || out[out.length - 1].text !== text) out.push({t, text});
	}
	return out;
}

// The history chart: percentage over time, drawn as SVG, a colour per
// device with a legend. Each point is a button (arrow keys move between
// them): focus, a tap or the pointer shows its position below the chart.
function chart(entries) {
	// Drawn at the width it is shown at, so that the text keeps its size.
	const W = Math.max(300, Math.min(900, main.clientWidth - 40));
	const H = W < 500 ? 180 : 220, L = 44, R = 16, T = 12, B = 30;
	const pts = entries.slice().sort((a, b) => a.timestamp - b.timestamp);
	const t0 = pts[0].timestamp, t1 = pts[pts.length - 1].timestamp;
	const span = Math.max(1, t1 - t0);
	const x = (t) => L + (pts.length === 1 ? (W - L - R) / 2 : (t - t0) / span * (W - L - R));
	const y = (p) => T + (1 - Math.max(0, Math.min(1, p))) * (H - T - B);
	const devs = [];
	for (const e of pts) if (!devs.includes(devName(e))) devs.push(devName(e));
	const colour = (e) => 'dev' + (devs.indexOf(devName(e)) % DEV_COLOURS);
	const grid = [0, 0.25, 0.5, 0.75, 1].map((p) => [
		s('line', {x1: L, x2: W - R, y1: y(p), y2: y(p), class: 'grid'}),
		s('text', {x: L - 6, y: y(p) + 4, 'text-anchor': 'end', class: 'axis'}, Math.round(p * 100) + '%'),
	]);
	const line = s('polyline', {class: 'line', fill: 'none',
	    points: pts.map((e) => x(e.timestamp).toFixed(1) + ',' + y(e.percentage).toFixed(1)).join(' ')});
	const tip = h('p', {class: 'tip', id: 'chart-tip', 'aria-live': 'polite'},
	    'Select a point (tap, or Tab then the arrow keys) to see its position.');
	const say = (e) => pct(e.percentage) + ' from ' + devName(e) + ', ' + fullDate(e.timestamp);
	const dots = pts.map((e, i) => s('circle', {cx: x(e.timestamp).toFixed(1), cy: y(e.percentage).toFixed(1), r: 5,
	    class: 'dot ' + colour(e), tabindex: i === pts.length - 1 ? '0' : '-1', role: 'button',
	    'aria-label': say(e)}));
	const pick = (i, focus) => {
		dots.forEach((d, j) => {
			d.setAttribute('tabindex', j === i ? '0' : '-1');
			d.classList.toggle('on', j === i);
		});
		tip.textContent = say(pts[i]);
		if (focus) dots[i].focus();
	};
	dots.forEach((d, i) => {
		d.addEventListener('focus', () => pick(i, false));
		d.addEventListener('click', () => pick(i, true));
		d.addEventListener('pointerenter', () => pick(i, false));
		d.addEventListener('keydown', (ev) => {
			const to = {ArrowLeft: i - 1, ArrowDown: i - 1, ArrowRight: i + 1, ArrowUp: i + 1,
			    Home: 0, End: pts.length - 1}[ev.key];
			if (to === undefined) return;
			ev.preventDefault();
			pick(Math.max(0, Math.min(pts.length - 1, to)), true);
		});
	});
	const ticks = timeTicks(t0, t1, W < 500 ? 3 : 5);
	const labels = ticks.map((k, i) => s('text', {x: x(k.t), y: H - 8, class: 'axis',
	    'text-anchor': ticks.length === 1 ? 'middle' : i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle'}, k.text));
	const legend = h('ul', {class: 'legend', 'aria-label': 'Devices'}, devs.map((n, i) =>
	    h('li', {}, h('span', {class: 'swatch dev' + (i % DEV_COLOURS), 'aria-hidden': 'true'}), n)));
	return h('figure', {class: 'chart'},
	    s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'group', 'aria-labelledby': 'chart-cap'},
	        s('g', {'aria-hidden': 'true'}, grid, line, labels), dots),
	    legend, tip,
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

// sameBookGroups, and the documents the library joins to one book (its
// files' partial or file-name MD5s: an EPUB and its KEPUB, a re-download
// whose bytes differ, a device matching by file name), when there is a
// library. A group inside another is left out.
async function mergeGroups(list) {
	const groups = sameBookGroups(list);
	if (me.library && list.length > 1) {
		const byId = docIndex(list);
		const ids = [];
		for (const d of list) ids.push(d.document, ...(d.links || []));
		const seen = new Set();
		for (let i = 0; i < ids.length; i += BOOKS_DOCS) {
			const r = await api('GET', 'library?limit=200&docs=' + ids.slice(i, i + BOOKS_DOCS).join(','));
			for (const b of r.books) {
				if (seen.has(b.id)) continue;
				seen.add(b.id);
				const docs = [];
				for (const f of b.files) {
					for (const k of [f.partial_md5, f.filename_md5]) {
						const d = byId.get(k);
						if (d && !docs.includes(d)) docs.push(d);
					}
				}
				if (docs.length > 1) groups.push({by: 'book of your library (' + b.title + ')', docs});
			}
		}
	}
	const sets = groups.map((g) => new Set(g.docs.map((d) => d.document)));
	return groups.filter((g, i) => !sets.some((o, j) => j !== i && o.size >= sets[i].size &&
	    [...sets[i]].every((x) => o.has(x)) && (o.size > sets[i].size || j < i)));
}

function docLink(d) {
	return h('a', {href: '#/doc/' + encodeURIComponent(d.document)}, docName(d));
}

// The sync doctor's dismissed findings, per account, in this browser.
function dismissedKey() {
	return 'kosyncd.doctor.dismissed.' + me.username;
}

function dismissed() {
	try {
		const v = JSON.parse(localStorage.getItem(dismissedKey()) || '[]');
		return new Set(Array.isArray(v) ? v : []);
	} catch (e) {
		return new Set();
	}
}

function setDismissed(set) {
	try {
		if (set.size) localStorage.setItem(dismissedKey(), JSON.stringify([...set]));
		else localStorage.removeItem(dismissedKey());
	} catch (e) {
		// Storage off: dismissing lasts until the next visit.
	}
}

// One finding: {id, title (array), body, fix (text), action (button)}.
function finding(f, hide) {
	return h('li', {class: 'problem', 'data-finding': f.id},
	    h('h3', {}, f.title),
	    f.body,
	    h('p', {class: 'fix'}, f.fix),
	    h('div', {class: 'buttons'}, f.action || null,
	        h('button', {type: 'button', class: 'dismiss', 'aria-label': 'Dismiss: ' + f.label, onclick: hide}, 'Dismiss')));
}

async function doctor() {
	const list = await loadDocs(true, Infinity);
	const found = [];
	const fail = (e) => toast(e.message);

	for (const g of await mergeGroups(list)) {
		found.push({id: 'book:' + g.docs.map((d) => d.document).sort().join(','),
		    label: 'one book, ' + g.docs.length + ' hashes: ' + docName(g.docs[0]),
		    title: ['One book, ' + g.docs.length + ' hashes: ', docName(g.docs[0])],
		    body: h('p', {}, 'The same ' + g.by + ' was synced under different document hashes, so these copies do not share a position: ',
		        g.docs.map((d, i) => [i ? ', ' : '', docLink(d), ' (', h('code', {}, d.document.slice(0, 8)), ', ', pct(d.percentage), ', ', devName(d), ')'])),
		    fix: 'What to do: merge them here so that they share one position. KOReader hashes the file\'s content, so the ' +
		        'devices have different files (another edition or a re-downloaded copy); copying one file to every device, ' +
		        'or the same "document matching method" (file name) in every KOReader, avoids it next time.',
		    action: h('button', {type: 'button', class: 'primary', onclick: async () => {
			    try {
				    if (await confirmMerge(g.docs[0], g.docs.slice(1))) {
					    await render(true);
					    toast('Merged ' + g.docs.length + ' hashes of ' + docName(g.docs[0]) + '.');
				    }
			    } catch (e) {
				    fail(e);
			    }
		    }}, 'Merge these ' + g.docs.length + '…')});
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
		found.push({id: 'devid:' + id + ':' + [...names].sort().join(','),
		    label: 'one device ID, ' + names.size + ' names',
		    title: 'One device ID, ' + names.size + ' names',
		    body: h('p', {}, 'Device ID ', h('code', {}, id), ' reported itself as ', [...names].map((n, i) => [i ? ', ' : '', h('strong', {}, n)]), '.'),
		    fix: 'What to do: if these are different devices, one has a copy of the other\'s KOReader ' +
		        'settings, so KOReader cannot tell them apart ("this position came from this device"). ' +
		        'Remove settings.reader.lua\'s device_id on one of them (or reinstall KOReader there). ' +
		        'If one device was only renamed, nothing is wrong: dismiss this.'});
	}

	// A forward move undone by another device within WINDOW, while the
	// backward position is still the current one (a restore fixes it).
	const WINDOW = 15 * 60;
	for (const d of list) {
		const tl = [...(d.history || []), {percentage: d.percentage, progress: d.progress, device: d.device,
		    device_id: d.device_id, timestamp: d.timestamp}].filter((e) => e.timestamp > 0 && !e.held).sort((a, b) => a.timestamp - b.timestamp);
		for (let i = tl.length - 1; i >= 2; i--) {
			const a = tl[i - 2], b = tl[i - 1], c = tl[i];
			const same = (p, q) => p.device_id ? p.device_id === q.device_id : p.device === q.device;
			if (b.percentage > a.percentage && c.percentage < b.percentage - 0.005 &&
			    !same(b, c) && c.timestamp - b.timestamp <= WINDOW && !isWebEntry(c) &&
			    d.percentage < b.percentage - 0.005) {
				found.push({id: 'back:' + d.document + ':' + c.timestamp,
				    label: 'moved backwards: ' + docName(d),
				    title: ['Moved backwards: ', docLink(d)],
				    body: h('p', {}, h('strong', {}, devName(c)), ' moved it back from ', pct(b.percentage), ' to ', pct(c.percentage), ' ',
				        ago(c.timestamp), ', ', Math.max(1, Math.round((c.timestamp - b.timestamp) / 60)),
				        ' min after ', h('strong', {}, devName(b)), ' moved it forward.'),
				    fix: 'What to do: this is typical of a device that was offline and sent its queued, ' +
				        'older position when it reconnected. Restore the forward position.',
				    action: h('button', {type: 'button', class: 'primary', 'aria-label': restoreLabel(b) + ' for ' + docName(d),
				        onclick: () => restore(d, b).catch(fail)}, 'Restore ' + pct(b.percentage))});
				break;
			}
		}
	}

	found.push(...heldProblems(list, fail));
	const gone = dismissed();
	// Dismissed findings that no longer exist are forgotten.
	const live = new Set(found.map((f) => f.id));
	const kept = new Set([...gone].filter((x) => live.has(x)));
	if (kept.size !== gone.size) setDismissed(kept);
	const open = found.filter((f) => !kept.has(f.id));
	const hide = (f) => () => {
		const set = dismissed();
		set.add(f.id);
		setDismissed(set);
		render(true).then(() => focusHeading());
		toast('Dismissed');
	};
	const unhide = kept.size ? h('p', {}, kept.size + ' dismissed ' + (kept.size === 1 ? 'finding' : 'findings') + ' hidden. ',
	    h('button', {type: 'button', id: 'undismiss', class: 'link', onclick: () => {
		    setDismissed(new Set());
		    render(true).then(() => focusHeading());
	    }}, 'Show them again')) : null;
	setPage('Sync doctor', h('h1', {}, 'Sync doctor'),
	    h('p', {class: 'muted'}, 'Problems the server can see in ' + list.length + ' books.'),
	    h('h2', {}, 'Findings'),
	    open.length ? h('ul', {class: 'problems', id: 'findings'}, open.map((f) => finding(f, hide(f)))) :
	        h('div', {class: 'card', id: 'no-findings'}, h('p', {}, 'No problems found.')),
	    unhide);
}

async function mergeInto(target, others) {
	for (const d of others) {
		await api('POST', docPath(target.document) + '/merge', {alias: d.document});
	}
}

// The position a merge of others into target ends with: the newest one
// (webops.c: an alias's position replaces the kept one's only when newer).
function mergeWinner(target, others) {
	let w = target;
	for (const d of others) if (d.timestamp > w.timestamp) w = d;
	return w;
}

// Show what merging others into target gives, ask, and merge. With "keep
// its position" ticked, target's own position is restored afterwards.
// Returns true when merged; throws what the server said.
async function confirmMerge(target, others) {
	const w = mergeWinner(target, others);
	const all = [target, ...others];
	const keepPos = h('input', {id: 'merge-keep-pos', type: 'checkbox'});
	const content = [
		h('p', {}, 'These ' + all.length + ' hashes become one book, shown as ', h('strong', {}, bookLabel(target)), ':'),
		h('ul', {class: 'merge-list'}, all.map((d) => h('li', {}, bookLabel(d), ' · ', pct(d.percentage), ' from ',
		    devName(d), ', ', fullDate(d.timestamp), d === w ? h('strong', {}, ' (newest)') : null))),
		h('p', {class: 'preview', id: 'merge-result'}, 'Resulting position: ', h('strong', {}, pct(w.percentage)),
		    ' from ', devName(w), ', ', fullDate(w.timestamp), '.'),
		w === target ? null : h('p', {class: 'warn'}, 'The newest position wins: this is the position of ',
		    bookLabel(w), ', not of the book you keep (', pct(target.percentage), ').'),
		w === target ? null : h('label', {class: 'check'}, keepPos,
		    ' Keep ' + pct(target.percentage) + ' (the kept book\'s position) instead'),
	];
	if (!await ask('Merge ' + bookLabel(target) + '?', content, 'Merge')) return false;
	await mergeInto(target, others);
	if (keepPos.checked) {
		await api('POST', docPath(target.document) + '/restore',
		    {percentage: target.percentage, progress: target.progress});
	}
	return true;
}

// A searchable choice among many documents: a search field filtering a
// list box of at most PICK_MAX matches (a list of 1,500 is unusable).
const PICK_MAX = 50;
function docPicker(id, label, list, selected) {
	const byId = new Map();
	for (const d of list) if (!byId.has(d.document)) byId.set(d.document, d);
	const docsList = [...byId.values()];
	const names = new Map();
	for (const d of docsList) names.set(docName(d), (names.get(docName(d)) || 0) + 1);
	const text = (d) => bookLabel(d) + (names.get(docName(d)) > 1 && bookLabel(d) === docName(d) ?
	    ' (' + d.document.slice(0, 8) + ')' : '') + ' · ' + pct(d.percentage) + ' · ' + devName(d);
	const q = h('input', {id: id + '-q', type: 'search', autocomplete: 'off', placeholder: 'Type to search ' +
	    docsList.length + ' books'});
	const sel = h('select', {id, size: '6'});
	const note = h('p', {class: 'muted small', id: id + '-n'});
	sel.setAttribute('aria-describedby', note.id);
	const fill = () => {
		const cur = sel.value || selected;
		const t = q.value.trim().toLowerCase();
		const hits = docsList.filter((d) => !t || [docName(d), d.title, d.filename, d.authors, d.document]
		    .some((x) => x && x.toLowerCase().includes(t)));
		const shown = hits.slice(0, PICK_MAX);
		sel.replaceChildren(...shown.map((d) => h('option', {value: d.document, selected: d.document === cur}, text(d))));
		if (!sel.value && sel.options.length) sel.selectedIndex = 0;
		note.textContent = hits.length > PICK_MAX ? PICK_MAX + ' of ' + hits.length + ' matches shown; type more to narrow.' :
		    hits.length + (hits.length === 1 ? ' match.' : ' matches.');
	};
	q.addEventListener('input', fill);
	fill();
	return {
		el: h('div', {class: 'picker'}, h('label', {for: id + '-q'}, label + ': search'), q,
		    h('label', {for: id}, label), sel, note),
		get: () => byId.get(sel.value) || null,
	};
}

async function merge() {
	const list = await loadDocs(false, Infinity);
	const groups = await mergeGroups(list);
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
	const keep = docPicker('merge-keep', 'Keep', list, list[0] && list[0].document);
	const other = docPicker('merge-other', 'and link to it', list, list[1] && list[1].document);
	const manual = h('form', {class: 'card', onsubmit: async (ev) => {
		ev.preventDefault();
		const k = keep.get(), o = other.get();
		if (!k || !o || k.document === o.document) {
			say('Choose two different documents.', true);
			return;
		}
		try {
			if (!await confirmMerge(k, [o])) return;
			await render(true);
			say('Merged ' + bookLabel(o) + ' into ' + bookLabel(k) + '.');
		} catch (e) {
			say(e.message, true);
		}
	}}, h('h2', {}, 'Merge two documents'), keep.el, other.el,
	h('button', {type: 'submit', class: 'primary'}, 'Merge…'));

	const merged = list.filter((d) => d.links && d.links.length);
	setPage('Merge', h('h1', {}, 'Merge documents'),
	    h('p', {}, 'KOReader identifies a book by a hash of its file. Different files of the same book ' +
	        '(another edition, a re-download) get different hashes and keep separate positions. Merging links ' +
	        'the hashes: pushes and pulls under any of them then share one position. The newest position wins ' +
	        '(you see which before you confirm); separating them again gives each hash its own record back.'),
	    msg,
	    h('h2', {}, 'Suggestions'),
	    groups.length ? h('ul', {class: 'problems', id: 'suggestions'}, groups.map((g) => h('li', {class: 'problem suggestion'},
	        h('h3', {}, docName(g.docs[0])),
	        h('p', {class: 'muted'}, 'Same ' + g.by + ' under ' + g.docs.length + ' hashes:'),
	        h('ul', {}, g.docs.map((d) => h('li', {}, docLink(d), ' ', h('code', {}, d.document.slice(0, 8)), ' · ', pct(d.percentage), ' · ', devName(d), ' ', when(d.timestamp)))),
	        h('button', {type: 'button', class: 'primary merge', onclick: async () => {
		        try {
			        if (!await confirmMerge(g.docs[0], g.docs.slice(1))) return;
			        await render(true);
			        say('Merged ' + g.docs.length + ' hashes of ' + docName(g.docs[0]) + '.');
		        } catch (e) {
			        say(e.message, true);
		        }
	        }}, 'Merge these ' + g.docs.length + '…')))) :
	        h('p', {class: 'muted'}, 'No books appear under more than one hash.'),
	    list.length > 1 ? manual : null,
	    merged.length ? [h('h2', {}, 'Merged'), h('ul', {class: 'problems'}, merged.map((d) => h('li', {class: 'problem merged'},
	        h('h3', {}, docLink(d)),
	        h('p', {}, 'Also synced as: '),
	        h('ul', {}, d.links.map((a) => h('li', {}, h('code', {}, a), ' ',
	            h('button', {type: 'button', 'aria-label': 'Separate ' + a.slice(0, 8) + ' from ' + docName(d), onclick: async () => {
		            try {
			            await api('POST', docPath(d.document) + '/unmerge', {alias: a});
			            await render(true);
			            say('Separated.');
		            } catch (e) {
			            say(e.message, true);
		            }
	            }}, 'Separate'))))))) ] : null);
}

// A device password's last sign-ins and syncs (GET devices/<id>/audit),
// newest first, into the row below the device's (toggled by its button).
const AUDIT_WHAT = {auth: 'Signed in', pull: 'Pulled', push: 'Pushed', webdav: 'Cloud storage'};
async function deviceAudit(d, button, row) {
	const open = button.getAttribute('aria-expanded') !== 'true';
	button.setAttribute('aria-expanded', String(open));
	row.hidden = !open;
	if (!open) return;
	const cell = row.firstChild;
	cell.replaceChildren(h('p', {class: 'muted'}, 'Loading…'));
	try {
		const a = await api('GET', 'devices/' + encodeURIComponent(d.id) + '/audit');
		cell.replaceChildren(a.audit.length
		    ? h('ul', {class: 'audit', 'aria-label': 'Recent use of ' + d.label}, a.audit.map((e) => h('li', {},
		        AUDIT_WHAT[e.what] || e.what, e.document ? [' ', h('code', {}, e.document.slice(0, 8))] : null,
		        ' · ', when(e.time), ' · ', e.address || '—', e.agent ? [' · ', h('span', {class: 'muted'}, e.agent)] : null)))
		    : h('p', {class: 'muted'}, 'Not used yet.'));
	} catch (e) {
		cell.replaceChildren(h('p', {class: 'error'}, e.message));
	}
}

// The account page's device credentials (docs/devices.md): each device its
// own password, shown once; rename, revoke, and "devices only"; the recent
// use of each.
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
	const rows = list.devices.flatMap((d) => {
		const more = h('tr', {class: 'audit-row', hidden: true}, h('td', {colspan: '3'}));
		const show = h('button', {type: 'button', 'aria-expanded': 'false', 'aria-label': 'Recent use of ' + d.label,
		    onclick: () => deviceAudit(d, show, more)}, 'Activity');
		return [deviceRow(d, show), more];
	});
	function deviceRow(d, show) {
		return h('tr', {},
	    h('td', {}, d.label, d.revoked ? h('span', {class: 'muted'}, ' (revoked)') : null),
	    h('td', {}, when(d.used), d.device ? ' · ' + d.device : '', d.address ? ' · ' + d.address : ''),
	    h('td', {}, show, ' ', d.revoked ? null : [
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
		    }}, 'Revoke')]));
	}
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

// The account page's events out (docs/webhooks.md): webhooks (add with
// the events chosen, test, the delivery log, delete) and the "now
// reading" feed (turn on, copy the addresses, rotate, turn off).
const HOOK_EVENTS = [
	['progress', 'Every sync of a position'],
	['started', 'A book started'],
	['finished', 'A book finished (99 %)'],
	['statistics_uploaded', 'Reading statistics uploaded'],
];

async function webhooksCard(note) {
	const card = h('section', {class: 'card', 'aria-labelledby': 'hooks-h'});
	const msg = note || h('p', {role: 'status'});
	const say = (text, bad) => {
		msg.className = bad ? 'error' : '';
		msg.textContent = text;
	};
	let list;
	try {
		list = await api('GET', 'webhooks');
	} catch (e) {
		card.append(h('h2', {id: 'hooks-h'}, 'Webhooks'), h('p', {class: 'muted'}, e.message));
		return card;
	}
	const redraw = async (n) => card.replaceWith(await webhooksCard(n));
	const logOf = (wh) => h('details', {},
	    h('summary', {}, 'Delivery log of ' + wh.url + ' (' + wh.log.length + ')'),
	    wh.log.length ? h('table', {},
		// The third column is the one a phone hides (style.css): the try.
		h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Event'), h('th', {}, 'Try'),
		    h('th', {}, 'Answer'))),
		h('tbody', {}, wh.log.map((e) => h('tr', {},
		    h('td', {}, fullDate(e.time)), h('td', {}, e.event), h('td', {}, String(e.attempt)),
		    h('td', {class: e.error ? 'error' : ''}, e.status ? String(e.status) : '', e.error ? ' ' + e.error : '',
			' (' + e.ms + ' ms)'))))) :
		h('p', {class: 'muted'}, 'Nothing sent yet.'));
	const items = list.webhooks.map((wh) => h('li', {},
	    h('code', {}, wh.url), ' — ', wh.events.join(', '), ' ',
	    h('button', {type: 'button', 'aria-label': 'Send a test event to ' + wh.url, onclick: async () => {
		    try {
			    await api('POST', 'webhooks/' + encodeURIComponent(wh.id) + '/test');
			    say('Test event queued; its answer appears in the delivery log.');
			    setTimeout(() => redraw().catch(() => {}), 1500);
		    } catch (e) {
			    say(e.message, true);
		    }
	    }}, 'Test'), ' ',
	    h('button', {type: 'button', class: 'danger', 'aria-label': 'Delete the webhook ' + wh.url, onclick: async () => {
		    if (!window.confirm('Delete the webhook ' + wh.url + '?')) return;
		    try {
			    await api('DELETE', 'webhooks/' + encodeURIComponent(wh.id));
			    await redraw(h('p', {role: 'status'}, 'Webhook deleted.'));
		    } catch (e) {
			    say(e.message, true);
		    }
	    }}, 'Delete'),
	    logOf(wh)));
	const url = h('input', {id: 'hook-url', type: 'url', maxlength: '512', required: true,
	    placeholder: 'http://192.168.1.20:8123/api/webhook/books'});
	const boxes = HOOK_EVENTS.map(([name, text]) => {
		const box = h('input', {type: 'checkbox', value: name, checked: name !== 'progress'});
		return {box, label: h('label', {class: 'check'}, box, ' ' + text)};
	});
	const add = h('form', {onsubmit: async (ev) => {
		ev.preventDefault();
		const events = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
		try {
			const r = await api('POST', 'webhooks', {url: url.value, events});
			await redraw(h('p', {role: 'status'}, 'Webhook added. Its secret, shown only now, signs every body ' +
			    '(X-Kosyncd-Signature: sha256=HMAC of the body): ', h('code', {}, r.secret)));
		} catch (e) {
			say(e.message, true);
		}
	}}, h('label', {for: 'hook-url'}, 'New webhook (http, numeric address)'), url,
	    h('fieldset', {}, h('legend', {}, 'Events'), boxes.map((b) => b.label)),
	    h('button', {type: 'submit', class: 'primary'}, 'Add webhook'));
	// append() writes null as text: leave the absent parts out.
	card.append(...[h('h2', {id: 'hooks-h'}, 'Webhooks'),
	    h('p', {class: 'muted'}, 'The server posts a signed JSON body to each address when these events happen, ' +
	        'after the device has its answer. At most 5 webhooks.' +
	        (list.allow_private ? '' : ' Private and loopback addresses are not allowed on this server.')),
	    items.length ? h('ul', {class: 'plain'}, items) : null,
	    list.dropped ? h('p', {class: 'muted'}, list.dropped + ' deliveries dropped (queue full) since the server started.') : null,
	    add, msg].filter(Boolean));
	return card;
}

async function feedCard() {
	const card = h('section', {class: 'card', 'aria-labelledby': 'feed-h'});
	const msg = h('p', {role: 'status'});
	let f;
	try {
		f = (await api('GET', 'feed')).feed;
	} catch (e) {
		card.append(h('h2', {id: 'feed-h'}, 'Now reading feed'), h('p', {class: 'muted'}, e.message));
		return card;
	}
	const act = (method, path, body, text) => async () => {
		try {
			await api(method, path, body);
			const fresh = await feedCard();
			card.replaceWith(fresh);
			fresh.querySelector('[role=status]').textContent = text;
		} catch (e) {
			msg.className = 'error';
			msg.textContent = e.message;
		}
	};
	// The API answers paths on this server (base path included).
	const abs = (p) => new URL(p, location.origin).href;
	const copy = (text) => h('button', {type: 'button', onclick: async () => {
		try {
			await navigator.clipboard.writeText(text);
			msg.textContent = 'Address copied.';
		} catch (e) {
			msg.textContent = 'Copy the address by hand: ' + text;
		}
	}}, 'Copy');
	card.append(h('h2', {id: 'feed-h'}, 'Now reading feed'),
	    h('p', {class: 'muted'}, 'A secret address that lists your books in progress (title, percentage, device, ' +
	        'time) for a blog, a dashboard or a feed reader. Anyone with the address can read it: rotate it to ' +
	        'make the old one stop working.'));
	if (f.enabled) {
		const j = f.json, a = f.atom;
		// Read-only fields: a long address never widens the page.
		card.append(
		    h('label', {for: 'feed-json'}, 'JSON address'),
		    h('input', {id: 'feed-json', readonly: true, value: abs(j)}), copy(abs(j)),
		    h('label', {for: 'feed-atom'}, 'Atom address'),
		    h('input', {id: 'feed-atom', readonly: true, value: abs(a)}), copy(abs(a)), h('br', {}),
		    h('button', {type: 'button', onclick: act('POST', 'feed/rotate', undefined, 'New address made; the old one no longer works.')}, 'Rotate address'), ' ',
		    h('button', {type: 'button', class: 'danger', onclick: act('PUT', 'feed', {enabled: false}, 'Feed turned off.')}, 'Turn off'));
	} else {
		card.append(h('button', {type: 'button', class: 'primary', onclick: act('PUT', 'feed', {enabled: true}, 'Feed turned on.')}, 'Turn on the feed'));
	}
	card.append(msg);
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
	    await filesCard(), change, await devicesCard(), await policyCard(), await webhooksCard(), await feedCard(), del);
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

// The WebDAV bytes of each account of the admin page's user table (its
// Files column), asked a few at a time; '-' where there is no file storage.
async function fillStorage(names) {
	const cell = (u) => document.querySelector('tr[data-user="' + CSS.escape(u) + '"] td.files');
	for (let i = 0; i < names.length; i += 4) {
		await Promise.all(names.slice(i, i + 4).map(async (u) => {
			let text = '-';
			try {
				text = size((await api('GET', 'admin/users/' + encodeURIComponent(u) + '/files')).bytes);
			} catch (e) {
				// No file storage, or the account went away: '-'.
			}
			const c = cell(u);
			if (c) c.textContent = text;
		}));
	}
}

let adminNote = null; // {text, bad}: the admin page's message across a re-render

async function admin() {
	if (!me.admin) {
		setPage('Admin', h('h1', {}, 'Admin'), h('p', {}, 'Administrators only.'));
		return;
	}
	const [first, settings] = await Promise.all([page('admin/users', 'users'), api('GET', 'admin/settings')]);
	const users = first.items;
	// The outcome of the last action; one that re-rendered the page is
	// carried over in adminNote and shown in the new page.
	const note = adminNote;
	adminNote = null;
	const msg = h('p', {role: 'status', id: 'admin-msg', class: note && note.bad ? 'error' : null}, note ? note.text : '');
	const say = (text, bad) => {
		const cur = $('#admin-msg') || msg;
		cur.className = bad ? 'error' : '';
		cur.textContent = text;
	};
	const sayAfterRender = async (text) => {
		adminNote = {text};
		await render(true);
		toast(text);
	};
	const cell = (label, ...content) => h('td', {'data-label': label}, ...content);
	const userRow = (u) => h('tr', {'data-user': u.username},
	    h('th', {scope: 'row'}, u.username),
	    h('td', {class: 'num', 'data-label': 'Books'}, String(u.documents)),
	    h('td', {class: 'num', 'data-label': 'Stored'}, u.bytes === undefined ? '-' : size(u.bytes)),
	    h('td', {class: 'num files', 'data-label': 'Files'}, '…'),
	    cell('Devices', (u.devices || []).filter((n) => n !== WEB_DEVICE).join(', ')),
	    cell('Last sync', when(u.last_sync)),
	    h('td', {class: 'actions'},
	        h('button', {type: 'button', 'aria-label': 'Reset password of ' + u.username, onclick: async () => {
		        const pw = await askPassword('Reset the password of ' + u.username,
		            'Their devices must log in again with the new password; their browser sessions end.');
		        if (!pw) return;
		        try {
			        await api('PUT', 'admin/users/' + encodeURIComponent(u.username) + '/password', {password: pw});
			        say('Password of ' + u.username + ' reset; their devices must log in again.');
		        } catch (e) {
			        say(e.message, true);
		        }
	        }}, 'Reset password'),
	        h('button', {type: 'button', class: 'danger', 'aria-label': 'Delete ' + u.username, onclick: async () => {
		        if (!await ask('Delete ' + u.username + '?', h('p', {}, 'The user ', h('strong', {}, u.username),
		            ' and all their positions, history and files are deleted. This cannot be undone.'), 'Delete')) return;
		        try {
			        await api('DELETE', 'admin/users/' + encodeURIComponent(u.username));
			        if (u.username === me.username) {
				        signedOut();
				        return;
			        }
			        await sayAfterRender('Deleted ' + u.username + '.');
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
			const added = p.items.map(userRow);
			tbody.append(...added);
			fillStorage(added.map((r) => r.dataset.user));
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
			await sayAfterRender('Created ' + nu.value + '.');
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
	        h('thead', {}, h('tr', {}, ['User', 'Books', 'Stored', 'Files', 'Devices', 'Last sync', 'Actions'].map((t) => h('th', {scope: 'col'}, t)))),
	        tbody)),
	    moreUsers,
	    create,
	    await libraryAdminCard());
	fillStorage(rows.map((r) => r.dataset.user));
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
