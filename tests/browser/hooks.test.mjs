// hooks.test.mjs: the account page's webhooks and "now reading" feed
// (docs/webhooks.md) in a real browser against the real kosyncd binary.
//
// A receiver runs in this process. The test signs in, adds a webhook for
// "finished" with the page's form (the secret shown once), a KOReader push
// at 100 % reaches the receiver signed with that secret, the Test button's
// event too, and the delivery log shows both answers; then it turns the
// feed on, reads the JSON address the page shows, rotates it (the old
// address 404, the page shows the new one), turns it off, and deletes the
// webhook. Any console error or page error fails the test.
//
// Output is TAP ("ok N - ...") for tests/run-tests.
import {createHmac} from 'node:crypto';
import {createServer} from 'node:http';
import {join} from 'node:path';
import {md5, ok, openBrowser, run, shots, startServer, waitFor} from './lib.mjs';

// The receiver: every POST is kept.
const got = [];
const receiver = createServer((req, res) => {
	let body = '';
	req.setEncoding('utf8');
	req.on('data', (d) => {
		body += d;
	});
	req.on('end', () => {
		got.push({headers: req.headers, body});
		res.writeHead(200, {'Content-Length': '2'});
		res.end('ok');
	});
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const rport = receiver.address().port;

async function main() {
	const base = await startServer(['--webhook-allow-private']);
	const KEY = md5('correct horse');
	const kor = (method, path, body) => fetch(base + path, {method,
	    headers: {'Accept': 'application/vnd.koreader.v1+json', 'Content-Type': 'application/json',
		'x-auth-user': 'carol', 'x-auth-key': KEY}, body: JSON.stringify(body)});
	let r = await kor('POST', '/users/create', {username: 'carol', password: KEY});
	ok(r.status === 201, 'carol registers from KOReader');
	r = await kor('PUT', '/syncs/progress', {document: 'd1', progress: 'p', percentage: 0.4, device: 'Kobo',
	    device_id: 'K', metadata: {title: 'Emma'}});

	const {page} = await openBrowser();
	await page.goto(base + '/');
	await page.fill('#username', 'carol');
	await page.fill('#password', 'correct horse');
	await page.click('button[type=submit]');
	await page.waitForSelector('#library li');
	await page.goto(base + '/#/account');
	await page.waitForSelector('#hook-url');
	ok(await page.isVisible('#feed-h'), 'the account page has the webhooks and the feed');

	await page.fill('#hook-url', `http://127.0.0.1:${rport}/books`);
	await page.uncheck('input[value=started]');
	await page.uncheck('input[value=statistics_uploaded]');
	await page.click('#hook-url >> xpath=ancestor::form//button[@type="submit"]');
	await page.waitForSelector('section[aria-labelledby=hooks-h] code >> text=/^[0-9a-f]{32}$/');
	const secret = await page.textContent('section[aria-labelledby=hooks-h] p[role=status] code');
	ok(/^[0-9a-f]{32}$/.test(secret), 'the webhook is added and its secret shown once', secret);
	const listed = await page.textContent('section[aria-labelledby=hooks-h] ul');
	ok(listed.includes('finished') && !listed.includes('started'), 'listed with the events chosen', listed);

	r = await kor('PUT', '/syncs/progress', {document: 'd1', progress: 'p', percentage: 1, device: 'Kobo', device_id: 'K'});
	ok(r.status === 200, 'KOReader pushes 100 %');
	ok(await waitFor(() => got.length >= 1), 'the receiver got the finished event', got.length);
	const f = got[0] || {headers: {}, body: ''};
	const want = 'sha256=' + createHmac('sha256', secret).update(f.body).digest('hex');
	ok(f.headers['x-kosyncd-signature'] === want, 'signed with the secret the page showed', f.headers['x-kosyncd-signature']);
	ok(JSON.parse(f.body || '{}').title === 'Emma', 'the body names the book', f.body);

	await page.click('button[aria-label^="Send a test event"]');
	ok(await waitFor(() => got.length >= 2), 'the Test button sends a test event', got.length);
	// The card redraws itself once the test had time to be answered.
	await page.waitForSelector('section[aria-labelledby=hooks-h] details td >> text=test', {state: 'attached'});
	await page.click('section[aria-labelledby=hooks-h] details summary');
	await page.waitForSelector('section[aria-labelledby=hooks-h] details td >> text=test');
	const log = await page.textContent('section[aria-labelledby=hooks-h] details table');
	ok(/test/.test(log) && /finished/.test(log) && /200/.test(log), 'the delivery log shows both answers', log);
	await page.screenshot({path: join(shots, 'webhooks.png'), fullPage: true});

	await page.click('text=Turn on the feed');
	await page.waitForSelector('#feed-json');
	const url1 = await page.inputValue('#feed-json');
	ok(/\/feed\/[0-9a-f]{32}\.json$/.test(url1), 'the feed is on and its address shown', url1);
	let fr = await fetch(url1);
	const feed = await fr.json();
	ok(fr.status === 200 && feed.books.length === 0, 'the feed answers (the finished book is not in progress)', JSON.stringify(feed));
	await page.click('text=Rotate address');
	await page.waitForFunction((u) => document.querySelector('#feed-json').value !== u, url1);
	const url2 = await page.inputValue('#feed-json');
	const wide = await page.evaluate(() => document.documentElement.scrollWidth);
	await page.setViewportSize({width: 375, height: 800});
	const narrow = await page.evaluate(() => document.documentElement.scrollWidth);
	ok(narrow <= 375, 'the feed\'s addresses fit a phone', `${wide} ${narrow}`);
	await page.screenshot({path: join(shots, 'feed-phone.png'), fullPage: true});
	await page.setViewportSize({width: 1280, height: 860});
	fr = await fetch(url1);
	ok(fr.status === 404, 'after a rotation the old address is 404', fr.status);
	fr = await fetch(url2);
	ok(fr.status === 200, 'and the new one answers', fr.status);
	await page.click('section[aria-labelledby=feed-h] button.danger');
	await page.waitForSelector('text=Turn on the feed');
	fr = await fetch(url2);
	ok(fr.status === 404, 'turned off: 404', fr.status);

	await page.click('button[aria-label^="Delete the webhook"]');
	await page.waitForSelector('text=Webhook deleted.');
	ok(!(await page.isVisible('section[aria-labelledby=hooks-h] ul')), 'the webhook is deleted');
	await page.setViewportSize({width: 375, height: 800});
	const phone = await page.evaluate(() => document.documentElement.scrollWidth);
	ok(phone <= 375, 'nothing overflows on a phone', phone);
	await page.screenshot({path: join(shots, 'webhooks-phone.png'), fullPage: true});
}

await run(120000, main, () => receiver.close());
