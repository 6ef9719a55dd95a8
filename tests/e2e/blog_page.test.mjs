// The public blog page in a real browser: posts made and published through the official
// @trpc/client, the pages opened in headless Chromium with JavaScript on and off (hero card
// first, month headings newest first, a `<script>` title shown as text, no script on the page
// and no dialog), the HTML checked by Debian's `tidy`, the feed parsed as Atom by Chromium's
// DOMParser and by xmllint, and the HTTP caching rules (ETag, 304, HEAD).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CHROMIUM, evaluator, launchChromium, newTab } from './lib/chromium.mjs';
import { psql, sleep, startServer, stopChecked, tail } from './lib/server.mjs';
import { trpcClient } from './lib/trpc.mjs';

const SCRIPT_TITLE = '<script>alert(1)</script>';
const ATOM_NS = 'http://www.w3.org/2005/Atom';

/** Opens `url` in a fresh tab of `chrome`, scripts on or off; resolves a DevTools session and
 * the dialogs the page opened. `devtools.close()` closes the tab too. */
async function openPage(chrome, url, { scripts }) {
  const tab = await newTab(chrome);
  const session = evaluator(tab.debuggerUrl);
  const devtools = { ...session, close: () => (session.close(), tab.close()) };
  const dialogs = [];
  devtools.on('Page.javascriptDialogOpening', (d) => {
    dialogs.push(d.message);
    devtools.send('Page.handleJavaScriptDialog', { accept: true }).catch(() => {});
  });
  await devtools.send('Page.enable');
  await devtools.send('Emulation.setScriptExecutionDisabled', { value: !scripts });
  await devtools.send('Page.navigate', { url });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const state = await devtools.eval('[location.href, document.readyState].join(" ")');
    if (state === `${url} complete`) return { devtools, dialogs };
    await sleep(50);
  }
  throw new Error(`Chromium did not load ${url}: ${tail(chrome.stderr(), 20)}`);
}

/** `tidy -q -e` on `html`: resolves {status, report}; 0 means neither errors nor warnings. */
function tidy(html, dir, name) {
  const file = path.join(dir, name);
  writeFileSync(file, html);
  const r = spawnSync('tidy', ['-q', '-e', file], { encoding: 'utf8' });
  return { status: r.status, report: `${r.stdout}${r.stderr}` };
}

describe('the public blog page', () => {
  let srv;
  let owner;
  let project;
  let profile;
  let chrome;
  const posts = {};

  before(async () => {
    assert.ok(CHROMIUM, 'chromium is not installed (scripts/install-deps.sh installs it)');
    srv = await startServer();
    owner = trpcClient(srv.url, srv.token);
    project = await owner.mutation('projects.create', {
      slug: 'lab',
      name: 'Acme Lab & Friends',
      description: 'What we <build>',
      blogSlug: 'acme-lab',
    });
    const make = async (slug, title, body) => {
      const post = await owner.mutation('projects.blogPosts.create', {
        projectId: project.id,
        title,
        body,
        slug,
      });
      await owner.mutation('projects.blogPosts.publish', { id: post.id });
      posts[slug] = post;
    };
    await make('spring', 'Spring notes', 'We planted *seeds*.');
    await make('autumn-a', 'Autumn one', 'Leaves.');
    await make('autumn-b', 'Autumn two', 'More leaves.');
    await make('xss', SCRIPT_TITLE, 'Raw <script>alert(2)</script> html and <img src=x onerror=alert(3)>.');
    await owner.mutation('projects.blogPosts.create', {
      projectId: project.id,
      title: 'Unpublished draft',
      body: 'Not yet.',
      slug: 'draft',
    });
    // Months apart: publishing sets now(), so the dates move in the database, and the notice
    // every change sends drops the rendered pages.
    psql(
      srv,
      `UPDATE blog_posts SET published_at = CASE slug
         WHEN 'spring' THEN timestamptz '2026-04-10 09:00Z'
         WHEN 'autumn-a' THEN timestamptz '2026-10-03 09:00Z'
         WHEN 'autumn-b' THEN timestamptz '2026-10-20 09:00Z'
         ELSE timestamptz '2026-12-01 09:00Z' END
       WHERE published_at IS NOT NULL;
       SELECT pg_notify('nyxgate_blog_changed', '${project.id}')`,
    );
    // The notice reaches the node's listener a moment later.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const html = await (await fetch(`${srv.url}/b/acme-lab`)).text();
      if (html.includes('April 2026')) break;
      await sleep(50);
    }
    profile = mkdtempSync(path.join(os.tmpdir(), 'nyxgate-blog-'));
    chrome = await launchChromium('about:blank', profile);
  });

  after(async () => {
    await chrome?.stop();
    if (srv) await stopChecked(srv, [srv.token]);
    if (profile) rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });

  for (const scripts of [true, false]) {
    it(`shows the hero first, then months newest first (JavaScript ${scripts ? 'on' : 'off'})`, async () => {
      const { devtools, dialogs } = await openPage(chrome, `${srv.url}/b/acme-lab`, { scripts });
      try {
        const view = await devtools.eval(`(() => {
          const main = document.querySelector('main');
          return {
            first: main.firstElementChild.className,
            heroTitle: document.querySelector('.hero h2 a').textContent,
            heroHref: document.querySelector('.hero h2 a').getAttribute('href'),
            months: [...document.querySelectorAll('.timeline h2')].map((h) => h.textContent),
            links: [...document.querySelectorAll('.timeline li a')].map((a) => a.getAttribute('href')),
            scripts: document.scripts.length,
            title: document.title,
            text: document.body.innerText,
          };
        })()`);
        assert.equal(view.first, 'hero');
        assert.equal(view.heroTitle, SCRIPT_TITLE, 'the title is shown as text');
        assert.equal(view.heroHref, '/b/acme-lab/xss');
        assert.deepEqual(view.months, ['October 2026', 'April 2026']);
        assert.deepEqual(view.links, ['/b/acme-lab/autumn-b', '/b/acme-lab/autumn-a', '/b/acme-lab/spring']);
        assert.equal(view.scripts, 0);
        assert.equal(view.title, 'Acme Lab & Friends');
        assert.ok(!view.text.includes('Unpublished draft'));
        await sleep(200);  // a dialog would have opened by now
        assert.deepEqual(dialogs, []);
      } finally {
        await devtools.close();
      }
    });
  }

  it('renders a post from Markdown with no raw HTML and no script', async () => {
    const { devtools, dialogs } = await openPage(chrome, `${srv.url}/b/acme-lab/xss`, { scripts: true });
    try {
      const view = await devtools.eval(`({
        h1: document.querySelector('article h1').textContent,
        body: document.querySelector('.body').innerHTML,
        scripts: document.scripts.length,
        images: document.images.length,
      })`);
      assert.equal(view.h1, SCRIPT_TITLE);
      assert.equal(view.scripts, 0);
      assert.equal(view.images, 0);
      assert.ok(!view.body.includes('onerror'), view.body);
      await sleep(200);
      assert.deepEqual(dialogs, []);
      const spring = await openPage(chrome, `${srv.url}/b/acme-lab/spring`, { scripts: true });
      assert.equal(await spring.devtools.eval("document.querySelector('.body em').textContent"), 'seeds');
      await spring.devtools.close();
    } finally {
      await devtools.close();
    }
  });

  it('passes tidy without errors or warnings', async () => {
    for (const [name, target] of [
      ['index.html', '/b/acme-lab'],
      ['post.html', '/b/acme-lab/xss'],
      ['spring.html', '/b/acme-lab/spring'],
      ['missing.html', '/b/no-such-blog'],
    ]) {
      const html = await (await fetch(`${srv.url}${target}`)).text();
      const { status, report } = tidy(html, profile, name);
      assert.equal(status, 0, `tidy ${target}:\n${report}`);
    }
  });

  it('serves an Atom feed that parses', async () => {
    const res = await fetch(`${srv.url}/b/acme-lab/feed.xml`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/atom+xml; charset=utf-8');
    const xml = await res.text();
    const file = path.join(profile, 'feed.xml');
    writeFileSync(file, xml);
    execFileSync('xmllint', ['--noout', file]);  // throws on malformed XML

    const { devtools } = await openPage(chrome, `${srv.url}/b/acme-lab`, { scripts: true });
    try {
      const feed = await devtools.eval(`(() => {
        const doc = new DOMParser().parseFromString(${JSON.stringify(xml)}, 'application/xml');
        const ns = ${JSON.stringify(ATOM_NS)};
        const root = doc.documentElement;
        const text = (el, name) => el.getElementsByTagNameNS(ns, name)[0]?.textContent;
        return {
          errors: doc.getElementsByTagName('parsererror').length,
          root: root.localName,
          ns: root.namespaceURI,
          id: [...root.children].find((c) => c.localName === 'id').textContent,
          links: [...root.children].filter((c) => c.localName === 'link').map((l) => l.getAttribute('rel') + ' ' + l.getAttribute('href')),
          entries: [...doc.getElementsByTagNameNS(ns, 'entry')].map((e) => ({
            title: text(e, 'title'),
            id: text(e, 'id'),
            published: text(e, 'published'),
            updated: text(e, 'updated'),
            href: e.getElementsByTagNameNS(ns, 'link')[0].getAttribute('href'),
            type: e.getElementsByTagNameNS(ns, 'content')[0].getAttribute('type'),
            content: text(e, 'content'),
          })),
        };
      })()`);
      assert.equal(feed.errors, 0);
      assert.equal(feed.root, 'feed');
      assert.equal(feed.ns, ATOM_NS);
      assert.equal(feed.id, `urn:uuid:${project.id}`);
      assert.deepEqual(feed.links, ['self /b/acme-lab/feed.xml', 'alternate /b/acme-lab']);
      assert.deepEqual(
        feed.entries.map((e) => e.title),
        [SCRIPT_TITLE, 'Autumn two', 'Autumn one', 'Spring notes'],
      );
      for (const e of feed.entries) {
        assert.match(e.id, /^urn:uuid:[0-9a-f-]{36}$/);
        assert.ok(!Number.isNaN(Date.parse(e.published)) && !Number.isNaN(Date.parse(e.updated)));
        assert.equal(e.type, 'html');
        assert.match(e.href, /^\/b\/acme-lab\/[a-z-]+$/);
      }
      assert.equal(feed.entries[0].id, `urn:uuid:${posts.xss.id}`);
      assert.ok(!feed.entries[0].content.includes('<script'), feed.entries[0].content);
    } finally {
      await devtools.close();
    }
  });

  it('answers 304 to a matching If-None-Match, and HEAD without a body', async () => {
    for (const target of ['/b/acme-lab', '/b/acme-lab/spring', '/b/acme-lab/feed.xml']) {
      const first = await fetch(`${srv.url}${target}`);
      await first.arrayBuffer();
      const etag = first.headers.get('etag');
      assert.match(etag, /^"[0-9a-f]{32}"$/);
      assert.equal(first.headers.get('cache-control'), 'public, no-cache');
      for (const value of [etag, `W/${etag}`, `"nope", ${etag}`]) {
        const again = await fetch(`${srv.url}${target}`, { headers: { 'if-none-match': value } });
        assert.equal(again.status, 304, `${target} ${value}`);
        assert.equal(again.headers.get('etag'), etag);
        assert.equal((await again.text()).length, 0);
      }
      const head = await fetch(`${srv.url}${target}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('etag'), etag);
      assert.ok(Number(head.headers.get('content-length')) > 0);
      assert.equal((await head.text()).length, 0);
    }
    const post = await fetch(`${srv.url}/b/acme-lab`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('answers an unknown blog or post with the 404 page', async () => {
    for (const target of ['/b/no-such-blog', '/b/acme-lab/no-such-post', '/b/acme-lab/draft']) {
      const res = await fetch(`${srv.url}${target}`);
      assert.equal(res.status, 404, target);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(await res.text(), /<h1>Not found<\/h1>/);
    }
  });

  it('shows a post the moment it is published', async () => {
    const before = await fetch(`${srv.url}/b/acme-lab`);
    const etag = before.headers.get('etag');
    assert.ok(!(await before.text()).includes('Breaking news'));
    const post = await owner.mutation('projects.blogPosts.create', {
      projectId: project.id,
      title: 'Breaking news',
      body: 'Hot off the press.',
    });
    assert.equal((await fetch(`${srv.url}/b/acme-lab/${post.slug}`)).status, 404, 'a draft is not shown');
    await owner.mutation('projects.blogPosts.publish', { id: post.id });
    // No wait: the mutation dropped the node's pages before it answered.
    const after = await fetch(`${srv.url}/b/acme-lab`, { headers: { 'if-none-match': etag } });
    assert.equal(after.status, 200);
    const html = await after.text();
    assert.ok(html.indexOf('Breaking news') < html.indexOf('class="timeline"'), 'the new post is the hero');
    assert.equal((await fetch(`${srv.url}/b/acme-lab/${post.slug}`)).status, 200);
    assert.ok((await (await fetch(`${srv.url}/b/acme-lab/feed.xml`)).text()).includes('Breaking news'));
  });
});
