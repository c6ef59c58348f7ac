// The console end to end in headless Chromium: an administrator's whole path (sign in, a policy
// with two mistakes, the fix, the preview, the save, a token, the agent's reach and activity,
// disabling it, deleting the policy), the auditor's read-only view, forged posts, escaping, and
// axe-core on every page in light and dark mode with a screenshot of each.
//
// tests/e2e/console.sh starts the server with the configuration these tests name.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { launchChromium } from '../../lib/chromium.mjs';

const ISSUER = process.env.TOLLGATE_ISSUER;
const SHOTS = process.env.TOLLGATE_SCREENSHOTS;
if (!ISSUER || !SHOTS) throw new Error('run through tests/e2e/console.sh');

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const POLICY = 'bot-billing-write';
const HOSTILE_CLIENT = `x<script>window.pwned=1</script>"'`;

let chrome;
before(async () => {
  chrome = await launchChromium(chromium);
});
after(async () => {
  await chrome?.close();
});

/** A signed-in page (its own browser context) for `username`. */
async function signedIn(username, password, options = {}) {
  const context = await chrome.browser.newContext({ baseURL: ISSUER, ...options });
  const page = await context.newPage();
  await page.goto('/console');
  assert.match(page.url(), /\/console\/login\?next=%2Fconsole$/);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/console$/);
  return { context, page };
}

/** A form post as the browser would make it, with the page's cookie; `origin` overrides Origin. */
async function post(page, path, fields, origin = ISSUER) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (origin !== null) headers.origin = origin;
  const response = await page.request.post(path, {
    headers,
    data: new URLSearchParams(fields).toString(),
    maxRedirects: 0,
  });
  return { status: response.status(), text: await response.text() };
}

/** The rows of a table body, each as its cells' texts joined by one space. */
const rowsOf = (locator) =>
  locator.evaluateAll((rows) =>
    rows.map((tr) => [...tr.cells].map((td) => td.textContent.replace(/\s+/g, ' ').trim()).join(' ').trim()));

const csrfOf = (page) => page.locator('input[name=csrf]').first().inputValue();

async function token(clientId, secret, scope) {
  const response = await fetch(`${ISSUER}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64'),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource: 'https://billing.example.com' }),
  });
  return { status: response.status, body: await response.json() };
}

async function introspect(tokenValue) {
  const response = await fetch(`${ISSUER}/introspect`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from('billing-api:billing-api-secret').toString('base64'),
    },
    body: new URLSearchParams({ token: tokenValue }),
  });
  assert.equal(response.status, 200);
  return response.json();
}

describe('an administrator', () => {
  let context;
  let page;
  before(async () => {
    ({ context, page } = await signedIn('ada', 'ada-console-pw'));
  });
  after(async () => {
    await context?.close();
  });

  test('finds who can get billing:read from the start page', async () => {
    await page.getByLabel('Resource or connection').selectOption('resource:billing');
    await page.getByLabel('Scope', { exact: true }).fill('billing:read');
    await page.getByRole('button', { name: 'Find who' }).click();
    await page.waitForURL(/\/console\/reach\?/);
    assert.equal(await page.locator('h1').textContent(), 'Who can get billing:read on billing?');
    const rows = page.locator('main table tbody tr');
    assert.deepEqual(await rowsOf(rows), [
      'everyone-reads-billing client_credentials billing-api, billing-bot no user',
    ]);
  });

  test('sees both mistakes of a draft at their paths, fixes them, previews, saves', async () => {
    await page.goto('/console/policies');
    await page.getByRole('link', { name: 'New policy' }).click();
    await page.getByLabel('Id').fill(POLICY);
    await page.getByLabel('Billing bot (billing-bot)').check();
    await page.getByLabel('client_credentials').check();
    await page.getByLabel('Target 1', { exact: true }).selectOption('resource:billing');
    await page.getByLabel('Target 1 scopes').fill('billing:write billing:wirte');
    await page.getByLabel('Condition 1 key').fill('user.rolez');
    await page.getByLabel('Condition 1 operator').selectOption('contains');
    await page.getByLabel('Condition 1 value').fill('admin');
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    const summary = page.locator('#problems');
    await summary.waitFor();
    assert.match(await summary.locator('h2').textContent(), /^2 problems to fix$/);
    const targetError = await page.locator('#target-error-0').textContent();
    assert.match(targetError, /^targets\[0\]\.scopes\[1\]: .*billing:wirte/);
    const conditionError = await page.locator('#cond-error-0').textContent();
    assert.match(conditionError, /^subject\.conditions\[0\]\.key: .*user\.rolez/);
    assert.equal(await page.getByLabel('Target 1 scopes').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Condition 1 key').getAttribute('aria-invalid'), 'true');
    await page.screenshot({ path: join(SHOTS, 'policy-errors-light.png'), fullPage: true });

    // Fix both, and try a request while previewing.
    await page.getByLabel('Target 1 scopes').fill('billing:write');
    await page.getByLabel('Condition 1 key').fill('');
    await page.getByLabel('Condition 1 value').fill('');
    await page.locator('#sim-client').selectOption('billing-bot');
    await page.locator('#sim-grant').selectOption('client_credentials');
    await page.locator('#sim-target').selectOption('resource:billing');
    await page.locator('#sim-scopes').fill('billing:read billing:write');
    await page.getByRole('button', { name: 'Preview changes' }).click();

    const preview = page.locator('#preview');
    await preview.waitFor();
    assert.equal(await page.locator('#problems').count(), 0);
    assert.equal(await preview.locator('h2').textContent(), 'What saving would change');
    assert.match(await preview.locator('p.muted').first().textContent(), /^A new policy/);
    const gained = preview.locator('h3:has-text("Gained") + .table-wrap tbody tr');
    assert.deepEqual(
      await rowsOf(gained),
      ['client_credentials billing-bot no user billing billing:write none certain bot-billing-write'],
    );
    assert.equal(await preview.locator('h3:has-text("Lost")').count(), 0);
    const verdicts = preview.locator('.verdict');
    assert.deepEqual(await verdicts.allTextContents(), [
      'Permitted: billing:read',
      'Permitted: billing:read billing:write',
    ]);
    await page.screenshot({ path: join(SHOTS, 'policy-preview-light.png'), fullPage: true });

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(/\/console\/policies\?saved=/);
    assert.equal(await page.getByRole('status').textContent(), `Policy ${POLICY} saved.`);
    const row = page.locator('tr', { has: page.getByRole('link', { name: POLICY, exact: true }) });
    assert.match(await row.textContent(), /by console:u-ada/);
  });

  let issued;
  test('a token request right after the save gets the new scope', async () => {
    const { status, body } = await token('billing-bot', 'billing-bot-secret', 'billing:read billing:write');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.scope, 'billing:read billing:write');
    issued = body.access_token;
    assert.equal((await introspect(issued)).active, true);
  });

  test("the agent's page shows the new reach and the token just issued", async () => {
    await page.goto('/console/agents');
    await page.getByRole('link', { name: 'billing-bot', exact: true }).click();
    await page.waitForURL(/\/console\/agents\/billing-bot$/);
    const reach = await page.locator('section:has(#reach-heading) tbody tr').allTextContents();
    assert.ok(
      reach.some((t) => /billing:write/.test(t) && /bot-billing-write/.test(t)),
      reach.join('\n'),
    );
    const activity = await page.locator('section:has(#activity-heading) tbody tr').allTextContents();
    assert.ok(
      activity.some((t) => /token_issued/.test(t) && /billing:read billing:write/.test(t)),
      activity.join('\n'),
    );
  });

  test('disables the agent: its token is inactive at introspection', async () => {
    await page.getByRole('button', { name: 'Disable and revoke its tokens' }).click();
    await page.waitForURL(/done=disable/);
    assert.match(await page.getByRole('status').textContent(), /^Disabled/);
    assert.equal((await introspect(issued)).active, false);
    const again = await token('billing-bot', 'billing-bot-secret', 'billing:read');
    assert.equal(again.status, 401);
    // And back: enabling restores none of its tokens.
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.waitForURL(/done=enable/);
    assert.equal((await introspect(issued)).active, false);
  });

  test('rotates a secret, shown once', async () => {
    await page.getByRole('button', { name: 'Rotate its secret' }).click();
    const secret = await page.getByLabel('Client secret').inputValue();
    assert.ok(secret.length >= 40);
    assert.equal((await token('billing-bot', 'billing-bot-secret', 'billing:read')).status, 401);
    assert.equal((await token('billing-bot', secret, 'billing:read')).status, 200);
  });

  test('deletes the policy after a confirmation that shows what is lost', async () => {
    await page.goto(`/console/policies/${POLICY}`);
    await page.getByRole('link', { name: 'Delete' }).click();
    assert.equal(await page.locator('h1').textContent(), `Delete policy ${POLICY}?`);
    const lost = await page.locator('main table tbody tr').allTextContents();
    assert.equal(lost.length, 1);
    assert.match(lost[0], /billing-bot[\s\S]*billing:write/);
    await page.getByRole('button', { name: `Delete ${POLICY}` }).click();
    await page.waitForURL(/deleted=/);
    assert.equal(await page.getByRole('link', { name: POLICY, exact: true }).count(), 0);
  });

  test("the policy's history holds its creation and deletion, with a diff", async () => {
    await page.goto(`/console/policies/${POLICY}/history`);
    const changes = page.locator('main section');
    assert.equal(await changes.count(), 2);
    assert.match(await changes.nth(0).locator('h2').textContent(), /^delete/);
    assert.match(await changes.nth(1).locator('h2').textContent(), /^create/);
    assert.match(await changes.nth(1).locator('.ins').allTextContents().then((t) => t.join('\n')), /billing:write/);
    assert.match(await changes.nth(0).textContent(), /console:u-ada/);
  });

  test('edits a policy as YAML, with an error at its path', async () => {
    await page.goto('/console/policies/new');
    await page.locator('summary', { hasText: 'Edit as YAML' }).click();
    await page.getByLabel('The policy as YAML').fill(
      'id: yaml-made\ntargets:\n  - resource: calendar\n    scopes: [calendar:read, calendar:nope]\n',
    );
    await page.getByRole('button', { name: 'Preview the YAML' }).click();
    const error = await page.locator('#yaml-error').textContent();
    assert.match(error, /targets\[0\]\.scopes\[1\]: .*calendar:nope/);
    assert.equal(await page.locator('details.yaml').getAttribute('open'), '');
  });

  test('the audit log filters by client and tails live', async () => {
    await page.goto('/console/audit?client=billing-bot&event=token_issued');
    const before = await page.locator('#audit-rows tr').count();
    assert.ok(before >= 1);
    await page.getByLabel('Live: add new events as they happen').check();
    await token('billing-bot', await currentSecret(page), 'billing:read').catch(() => {});
    await page.locator('#audit-rows tr.fresh').first().waitFor({ timeout: 10_000 });
    assert.ok((await page.locator('#audit-rows tr').count()) > before);
  });
});

/** The billing bot's secret after the rotation test: read from the store is impossible, so
 * rotate again through the console and use the new one. */
async function currentSecret(page) {
  const csrf = await csrfOf(page);
  const { text } = await post(page, '/console/agents/billing-bot/rotate-secret', { csrf });
  return /id="secret" value="([^"]+)"/.exec(text)[1];
}

describe('an auditor', () => {
  let context;
  let page;
  before(async () => {
    ({ context, page } = await signedIn('audrey', 'audrey-console-pw'));
  });
  after(async () => {
    await context?.close();
  });

  test('reads every page and is offered no change', async () => {
    for (const path of [
      '/console', '/console/policies', '/console/policies/everyone-reads-billing',
      '/console/policies/everyone-reads-billing/history', '/console/agents', '/console/agents/billing-bot',
      '/console/simulate', '/console/connections', '/console/audit',
    ]) {
      const response = await page.goto(path);
      assert.equal(response.status(), 200, path);
      assert.equal(await page.getByRole('button', { name: /^(Save|Disable|Delete|Mark|Rotate)/ }).count(), 0, path);
      assert.equal(await page.getByRole('link', { name: 'New policy' }).count(), 0, path);
    }
  });

  test('every change is refused (403) over HTTP with a valid session and token', async () => {
    await page.goto('/console/agents/billing-bot');
    const csrf = await csrfOf(page);
    const changes = [
      ['/console/policies/save', { csrf, action: 'save', id: 'auditor-made', target_0: 'resource:billing', scopes_0: 'billing:read' }],
      ['/console/policies/save', { csrf, action: 'yaml-save', yaml: 'id: auditor-yaml\ntargets: [{resource: billing, scopes: [billing:read]}]' }],
      ['/console/policies/everyone-reads-billing/delete', { csrf }],
      ['/console/agents/billing-bot/disable', { csrf }],
      ['/console/agents/billing-bot/verify', { csrf }],
      ['/console/agents/billing-bot/rotate-secret', { csrf }],
    ];
    for (const [path, fields] of changes) {
      const { status, text } = await post(page, path, fields);
      assert.equal(status, 403, path);
      assert.match(text, /Auditors cannot change anything/, path);
    }
    // A preview changes nothing: the auditor may run one.
    const preview = await post(page, '/console/policies/save', {
      csrf, action: 'preview', id: 'auditor-preview', target_0: 'resource:billing', scopes_0: 'billing:read',
    });
    assert.equal(preview.status, 200);
    // Nothing changed.
    const listed = await page.goto('/console/policies');
    assert.equal(listed.status(), 200);
    assert.equal(await page.getByRole('link', { name: /^auditor-/ }).count(), 0);
  });
});

describe('forged posts', () => {
  test('a wrong CSRF token, a foreign Origin or none are refused', async () => {
    const { context, page } = await signedIn('ada', 'ada-console-pw');
    try {
      await page.goto('/console/agents/billing-bot');
      const csrf = await csrfOf(page);
      const path = '/console/agents/billing-bot/verify';
      assert.equal((await post(page, path, { csrf: 'not-the-token' })).status, 403);
      assert.equal((await post(page, path, { csrf }, 'https://evil.example')).status, 403);
      assert.equal((await post(page, path, { csrf }, null)).status, 403);
      assert.equal((await post(page, '/console/login', { username: 'ada', password: 'ada-console-pw' }, 'https://evil.example')).status, 403);
      // With everything right it goes through.
      assert.equal((await post(page, path, { csrf })).status, 303);
    } finally {
      await context.close();
    }
  });

  test('a user without a console role cannot sign in', async () => {
    const context = await chrome.browser.newContext({ baseURL: ISSUER });
    const page = await context.newPage();
    try {
      await page.goto('/console/login');
      await page.getByLabel('User name').fill('sam');
      await page.getByLabel('Password').fill('sam-pw');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor();
      assert.match(page.url(), /\/console\/login$/);
      assert.equal((await page.goto('/console/policies')).url().includes('/console/login'), true);
    } finally {
      await context.close();
    }
  });
});

describe('names holding markup', () => {
  test('render escaped everywhere', async () => {
    const { context, page } = await signedIn('ada', 'ada-console-pw');
    try {
      const pages = ['/console', '/console/agents', `/console/agents/${encodeURIComponent(HOSTILE_CLIENT)}`,
        '/console/policies', '/console/policies/everyone-reads-billing', '/console/simulate',
        `/console/reach?client=${encodeURIComponent(HOSTILE_CLIENT)}`, '/console/audit'];
      for (const path of pages) {
        const response = await page.goto(path);
        assert.equal(response.status(), 200, path);
        assert.equal(await page.evaluate(() => window.pwned), undefined, path);
        assert.equal(await page.locator('main script, main img').count(), 0, path);
      }
      await page.goto('/console/agents');
      assert.ok((await page.locator('main').textContent()).includes('<script>window.pwned=1</script>"\''));
      await page.goto('/console/policies');
      assert.ok((await page.locator('main').textContent()).includes('Reading billing <b>"everyone"</b>'));
    } finally {
      await context.close();
    }
  });
});

describe('accessibility', () => {
  const PAGES = [
    ['login', '/console/login', false],
    ['overview', '/console', true],
    ['reach', '/console/reach?target=resource%3Abilling&scope=billing%3Aread', true],
    ['policies', '/console/policies', true],
    ['policy-new', '/console/policies/new', true],
    ['policy-edit', '/console/policies/everyone-reads-billing', true],
    ['policy-delete', '/console/policies/everyone-reads-billing/delete', true],
    ['policy-history', '/console/policies/everyone-reads-billing/history', true],
    ['agents', '/console/agents', true],
    ['agent', '/console/agents/billing-bot', true],
    ['simulate', '/console/simulate?sim_client=billing-bot&sim_grant_type=client_credentials&sim_target=resource%3Abilling', true],
    ['connections', '/console/connections', true],
    ['audit', '/console/audit', true],
  ];

  for (const scheme of ['light', 'dark']) {
    test(`axe finds no serious or critical violation on any page (${scheme})`, async () => {
      // axe is injected as a script: the test's context bypasses the pages' CSP to do it.
      const options = { colorScheme: scheme, bypassCSP: true, viewport: { width: 1280, height: 900 } };
      const { context, page } = await signedIn('ada', 'ada-console-pw', options);
      const anonymous = await chrome.browser.newContext({ baseURL: ISSUER, ...options });
      try {
        const failures = [];
        for (const [name, path, needsSession] of PAGES) {
          const on = needsSession ? page : await anonymous.newPage();
          const response = await on.goto(path);
          assert.equal(response.status(), 200, path);
          assert.equal(await on.locator('h1').count(), 1, `${path}: one h1`);
          await on.addScriptTag({ content: AXE });
          const result = await on.evaluate(async () =>
            // eslint-disable-next-line no-undef
            axe.run(document, { resultTypes: ['violations'] }));
          for (const v of result.violations) {
            if (v.impact === 'serious' || v.impact === 'critical') {
              failures.push(`${path} (${scheme}): ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
            }
          }
          await on.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
        }
        assert.deepEqual(failures, []);
      } finally {
        await anonymous.close();
        await context.close();
      }
    });
  }

  test('the keyboard reaches the navigation and a visible focus ring', async () => {
    const { context, page } = await signedIn('ada', 'ada-console-pw');
    try {
      await page.goto('/console');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to the content');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Overview');
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
      assert.notEqual(outline, 'none');
    } finally {
      await context.close();
    }
  });
});
