// Drives the KLG web console in Debian's headless chromium (playwright-core, no browser
// download) against a running server, as people would use it. Run by tests/tests/console.rs,
// which starts the server and passes:
//   KLG_URL               the server's base URL
//   KLG_ADMIN_TOKEN       an admin token (the whole flow)
//   KLG_VIEWER_TOKEN      a viewer token (must see no write forms)
//   KLG_ENGINEER_TOKEN    an engineer token (forms, but no timeline or audit log)
//   KLG_AUDITOR_TOKEN     an auditor token (timeline and audit log, but no forms)
//   KLG_SCREENSHOTS       folder for the screenshots (each page at 1280×800 and 390×844)
//   KLG_CHROMIUM          the browser (default /usr/bin/chromium)
// Exits non-zero on the first failed step, or at the end if the browser logged any console
// error or page error that no step expected.

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = need('KLG_URL');
const adminToken = need('KLG_ADMIN_TOKEN');
const viewerToken = need('KLG_VIEWER_TOKEN');
const engineerToken = need('KLG_ENGINEER_TOKEN');
const auditorToken = need('KLG_AUDITOR_TOKEN');
const shots = need('KLG_SCREENSHOTS');
mkdirSync(shots, { recursive: true });
rmSync(join(shots, 'failure.png'), { force: true });

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
}

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const problems = [];
/** The page last opened: photographed when a step fails. */
let lastPage = null;
/** Console errors steps provoke on purpose (e.g. the 422 of a bad field), as regexes, each excusing one. */
const expected = [];

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`  ok: ${what}`);
}

function step(name) {
  console.log(`• ${name}`);
}

/**
 * Runs `fn`, which provokes one console error matching each of `patterns` (e.g. the network
 * line of a deliberate 422). Each pattern excuses one such error, also one reported a little
 * after the step (the browser's console events arrive asynchronously).
 */
async function expecting(patterns, fn) {
  expected.push(...patterns);
  return fn();
}

function watch(page, label) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const excuse = expected.findIndex((p) => p.test(m.text()));
    if (excuse >= 0) {
      expected.splice(excuse, 1);
      console.log(`  (expected console error: ${m.text()})`);
      return;
    }
    problems.push(`${label}: console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(base) && !url.startsWith('blob:') && !url.startsWith('data:')) {
      problems.push(`${label}: request to another origin: ${url}`);
    }
  });
}

async function newPage(browser, { viewport = DESKTOP, locale = 'en-GB', label }) {
  const context = await browser.newContext({ viewport, locale, timezoneId: 'Europe/Moscow', acceptDownloads: true });
  context.setDefaultTimeout(30000);
  const page = await context.newPage();
  watch(page, label);
  lastPage = page;
  return page;
}

async function shot(page, name) {
  const size = page.viewportSize();
  const file = join(shots, `${name}-${size.width}x${size.height}.png`);
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot ${file}`);
}

async function signIn(page, token) {
  await page.goto(base + '/');
  await page.locator('#signin-token').fill(token);
  await page.locator('#signin button[type=submit]').click();
  await page.locator('#nav a').first().waitFor();
}

/** The text of an element, trimmed. */
async function text(page, selector) {
  return (await page.locator(selector).first().textContent()).trim();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.KLG_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    await flow(browser);
  } catch (err) {
    if (lastPage) {
      const file = join(shots, 'failure.png');
      await lastPage.screenshot({ path: file, fullPage: true }).catch(() => {});
      const seen = await lastPage.locator('main').textContent().catch(() => '');
      console.error(`the page when it failed: ${file}; its text: ${seen.slice(0, 1000)}`);
    }
    throw err;
  } finally {
    await browser.close();
  }
}

async function flow(browser) {
  let documentId;
  const page = await newPage(browser, { label: 'admin' });

  step('the page is served by KLG with a strict Content-Security-Policy');
  const response = await page.goto(base + '/');
  const csp = response.headers()['content-security-policy'] || '';
  check(response.status() === 200, 'GET / answers 200');
  check(csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'), `CSP admits only this origin's scripts (${csp})`);
  await page.locator('#signin').waitFor();
  await shot(page, 'signin');

  step('a wrong token is refused next to the token field');
  await expecting([/status of 401/], async () => {
    await page.locator('#signin-token').fill('klg_nobody_0123456789abcdefghijklmnopqrstuvwxyz');
    await page.locator('#signin button[type=submit]').click();
    await page.locator('[data-field=token] .field-error:not(:empty)').waitFor();
  });
  check((await text(page, '[data-field=token] .field-error')).length > 0, 'the token field shows why');

  step('sign in as admin: every view is offered');
  await page.locator('#signin-token').fill(adminToken);
  await page.locator('#signin button[type=submit]').click();
  await page.locator('#nav a').first().waitFor();
  const nav = await page.locator('#nav a').allTextContents();
  check(['Fleet', 'Inbox', 'Audit', 'Statistics'].every((v) => nav.includes(v)), `navigation: ${nav.join(', ')}`);
  check(!(await page.evaluate(() => location.href)).includes('klg_'), 'the token is not in the URL');
  check((await page.evaluate(() => sessionStorage.getItem('klg.token'))) === adminToken, 'the token is in sessionStorage');

  step('register an aircraft through the form: a bad registration shows a field error');
  await page.locator('#register-panel summary').click();
  const fillRegister = async (registration) => {
    await page.locator('#register-registration_number').fill(registration);
    await page.locator('#register-aircraft_type').fill('SU95');
    await page.locator('#register-model').fill('Sukhoi Superjet 100-95B');
    await page.locator('#register-serial_number').fill('95123');
    await page.locator('#register-operator').fill('Aeroflot');
    await page.locator('#register-year_of_manufacture').fill('2015');
  };
  await fillRegister('not a registration!');
  await expecting([/status of 422/], async () => {
    await page.locator('#register button[type=submit]').click();
    await page.locator('[data-field=registration_number] .field-error:not(:empty)').waitFor();
  });
  const fieldError = await text(page, '[data-field=registration_number] .field-error');
  check(fieldError.length > 0, `the registration field shows the API's error: "${fieldError}"`);
  check((await page.locator('#register-registration_number[aria-invalid=true]').count()) === 1, 'the field is marked invalid');
  await shot(page, 'fleet-register-error');

  step('a valid registration opens the aircraft page');
  await fillRegister('RA-89001');
  await page.locator('#register button[type=submit]').click();
  await page.locator('#registration').waitFor();
  check((await text(page, '#registration')) === 'RA-89001', 'the aircraft page shows RA-89001');
  const aircraftUrl = page.url();
  const aircraftId = aircraftUrl.split('#/aircraft/')[1];
  check(/^[0-9a-f-]{36}$/.test(aircraftId), `the page is #/aircraft/${aircraftId}`);
  check((await text(page, '#total-hours')) === '0.0', 'no hours yet');

  step('add a certificate expiring within 30 days');
  const inDays = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
  await page.locator('#add-certificate-panel summary').click();
  await page.locator('#add-certificate-number').fill('CA-2024-001');
  await page.locator('#add-certificate-issued_on').fill(inDays(-340));
  await page.locator('#add-certificate-valid_until').fill(inDays(20));
  await page.locator('#add-certificate button[type=submit]').click();
  await page.locator('.cert-card .cert-expiring').waitFor();
  check(true, 'the certificate is shown as expiring soon');

  step('log a flight and see it on the timeline');
  // Over a second after the registration: the "as of" picker has a resolution of one second.
  await page.waitForTimeout(1500);
  await page.locator('#log-flight-block_hours').fill('2.5');
  await page.locator('#log-flight-cycles').fill('1');
  await page.locator('#log-flight-departure').fill('UUEE');
  await page.locator('#log-flight-arrival').fill('ULLI');
  await page.locator('#log-flight button[type=submit]').click();
  await page.locator('#timeline li.event[data-type=FlightLogged]').waitFor();
  check((await text(page, '#total-hours')) === '2.5', 'the totals show 2.5 hours');
  check((await text(page, '#total-cycles')) === '1', 'and 1 cycle');
  const flight = await text(page, '#timeline li.event[data-type=FlightLogged]');
  check(flight.includes('admin') || flight.includes('bootstrap'), `the timeline says who logged it: ${flight.slice(0, 120)}`);
  check(/0\s*→\s*150/.test(flight), 'and what changed (block minutes 0 → 150)');
  check(flight.includes('UUEE → ULLI'), 'and the route flown');
  check((await page.locator('#timeline li.event').count()) === 3, 'registered, certificate issued, flight logged');
  await shot(page, 'aircraft');

  step('pick an earlier "as of" and see the earlier state');
  const registeredAt = await page.locator('#timeline li.event[data-type=AircraftRegistered] time').getAttribute('datetime');
  // The picker, to the second, one second into the registration's second: after it, before the flight.
  const pickerValue = await page.evaluate((iso) => {
    const d = new Date(iso);
    d.setMilliseconds(0);
    d.setSeconds(d.getSeconds() + 1);
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }, registeredAt);
  await page.locator('#as-of').fill(pickerValue);
  await page.locator('form.as-of button[type=submit]').click();
  await page.locator('.as-of-banner').waitFor();
  await page.locator('#total-hours').waitFor();
  check(page.url().includes('as_of='), 'the instant is in the page address (shareable)');
  check((await text(page, '#total-hours')) === '0.0', `as of ${pickerValue} (browser time) the hours were 0.0`);
  check((await text(page, '#total-cycles')) === '0', 'and the cycles 0');
  check((await page.locator('#log-flight').count()) === 0, 'a past state offers no commands');
  // The timeline is fetched after the state: wait for it rather than count a list still loading.
  const dimmed = await page.locator('#timeline li.event.later[data-type=FlightLogged]').waitFor({ timeout: 10000 }).then(() => true, () => false);
  check(dimmed && (await page.locator('#timeline li.event.later[data-type=FlightLogged]').count()) === 1, 'the later flight is dimmed on the timeline');
  await shot(page, 'aircraft-as-of');
  await page.locator('#as-of-now').click();
  await page.locator('#log-flight').waitFor();
  check((await text(page, '#total-hours')) === '2.5', '"Now" shows the current state again');

  step('the fleet board: status, certificate highlight, hours, search');
  await page.locator('#nav a', { hasText: 'Fleet' }).click();
  await page.locator('table.grid a.reg', { hasText: 'RA-89001' }).waitFor();
  const row = page.locator('table.grid tr', { hasText: 'RA-89001' });
  check((await row.locator('.cert-expiring').count()) === 1, 'the expiring certificate is highlighted');
  check((await row.textContent()).includes('2.5'), 'the row shows the hours');
  await page.locator('.filters input[name=q]').fill('nothing-matches-this');
  await page.locator('.filters button[type=submit]').click();
  await page.locator('.note', { hasText: 'No aircraft match' }).waitFor();
  check(true, 'a search that matches nothing says so');
  await page.locator('.filters button', { hasText: 'Clear' }).click();
  await page.locator('table.grid a.reg', { hasText: 'RA-89001' }).waitFor();
  await shot(page, 'fleet');

  step('upload a document with a progress bar, then classify it');
  await page.locator('#nav a', { hasText: 'Inbox' }).click();
  await page.locator('#upload-file').setInputFiles({
    name: 'AD-2024-05.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.concat([Buffer.from('%PDF-1.7 airworthiness directive\n'), Buffer.alloc(512 * 1024, 'x')]),
  });
  await page.locator('#upload button[type=submit]').click();
  await page.locator('#uploaded-link').waitFor();
  check((await page.locator('#upload-progress').getAttribute('value')) === '100' || (await page.locator('#upload-progress').evaluate((p) => p.value)) === 100, 'the progress bar reached 100 %');
  await page.locator('table.grid a.filename', { hasText: 'AD-2024-05.pdf' }).waitFor();
  await shot(page, 'inbox');
  await page.locator('table.grid a.filename', { hasText: 'AD-2024-05.pdf' }).click();
  await page.locator('#document-name').waitFor();
  documentId = page.url().split('#/inbox/')[1];
  await page.locator('#classify-document_type').selectOption('service_bulletin');
  await page.locator('#classify button[type=submit]').click();
  await page.locator('.badge.inbox_status-classified').waitFor();
  check((await text(page, '#document-type')) === 'Service bulletin', 'the document is classified as a service bulletin');

  step('link it to the aircraft and download it');
  await page.locator('#link-panel summary').click();
  await page.locator('#link-aircraft_id').selectOption({ label: 'RA-89001' });
  await page.locator('#link button[type=submit]').click();
  await page.locator('#timeline li.event[data-type=DocumentLinkedToAircraft]').waitFor();
  check((await page.locator('.facts a', { hasText: 'RA-89001' }).count()) === 1, 'the document names its aircraft');
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button.download').first().click()]);
  check(download.suggestedFilename() === 'AD-2024-05.pdf', `the download is named ${download.suggestedFilename()}`);
  await shot(page, 'document');

  step('the aircraft page lists its directives, and releases it to service from maintenance');
  // The document becomes an airworthiness directive due within 20 days (set up over the API, by
  // another client: the console does not know these commands' positions, so the test waits, as
  // that client would, until the read side reflects them before opening the page).
  const asAdmin = (method, path, body) => fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (r) => {
    const answer = await r.text();
    check(r.ok, `${method} ${path}: ${r.status} ${answer}`);
    return JSON.parse(answer);
  });
  await asAdmin('POST', `/api/inbox/files/${documentId}/classify`, { document_type: 'airworthiness_directive' });
  const { position } = await asAdmin('POST', `/api/v1/aircraft/${aircraftId}/directives`, { document_id: documentId, number: '2026-0042', revision: 'R1', applicable: true, comply_within: { days: 20 } });
  await asAdmin('GET', `/api/v1/aircraft/${aircraftId}/directives?min_position=${position}`);
  await page.goto(aircraftUrl);
  await page.locator('#directives table').waitFor();
  check((await text(page, '#directives .ad-number')) === '2026-0042 R1', 'the directive is listed with its revision');
  check((await page.locator('#directives .badge.due-due_soon').count()) === 1, 'due within 20 days: "due soon"');
  const due = await text(page, '#directives .due-limits');
  check(/\d.*\(20 d\)$/.test(due) && !due.includes('object'), `with the due date and the days left: ${due}`);
  await page.locator('#change-status-panel summary').click();
  check((await page.locator('#change-status-status option[value=active]').count()) === 0, 'an active aircraft is not offered "active"');
  await page.locator('#change-status-status').selectOption('in_maintenance');
  await page.locator('#change-status-reason').fill('A-check');
  await page.locator('#change-status button[type=submit]').click();
  await page.locator('#release-panel').waitFor();
  check((await page.locator('#change-status-status option[value=active]').count()) === 0, 'from maintenance, only a release returns to service');
  await page.locator('#release-certifying_staff').fill('A. Sidorova');
  await page.locator('#release-licence').fill('RU.66.0042');
  await page.locator('#release-work_order').fill('WO-2026-0142');
  await page.locator('#release-statement').fill('The A-check was carried out in accordance with the AMP; ready for release to service.');
  await shot(page, 'aircraft-release');
  await page.locator('#release button[type=submit]').click();
  await page.locator('#timeline li.event[data-type=ReleasedToService]').waitFor();
  check((await page.locator('.view-head .badge.status-active').count()) === 1, 'the aircraft is active again');
  const [adCsv] = await Promise.all([page.waitForEvent('download'), page.locator('#directives-csv').click()]);
  check(adCsv.suggestedFilename().startsWith('RA-89001-directives-'), `the AD status downloads as ${adCsv.suggestedFilename()}`);
  await shot(page, 'aircraft-directives');

  step('a parts request from request to installation');
  await page.locator('#nav a', { hasText: 'Parts' }).click();
  await page.locator('#tmc-new-panel summary').click();
  await page.locator('#tmc-new-aircraft_id').selectOption({ label: 'RA-89001' });
  await page.locator('#tmc-new-part_number').fill('d23189000-5');
  await page.locator('#tmc-new-description').fill('Main wheel assembly');
  await page.locator('#tmc-new-quantity').fill('0');
  await page.locator('#tmc-new-reference').fill('WO-2026-0142');
  await expecting([/status of 422/], async () => {
    await page.locator('#tmc-new button[type=submit]').click();
    await page.locator('#tmc-new-quantity-error:not(:empty)').waitFor();
  });
  check(true, 'a quantity of 0 is refused next to the field');
  await page.locator('#tmc-new-quantity').fill('2');
  await page.locator('#tmc-new button[type=submit]').click();
  await page.locator('#part-number').waitFor();
  check((await text(page, '#part-number')) === 'D23189000-5', 'the request page shows the part number');
  for (const [step, fields, status] of [
    ['approve', {}, 'approved'],
    ['order', { supplier: 'UTair Engineering', order_ref: 'PO-7781' }, 'ordered'],
    ['receive', {}, 'received'],
    ['install', { serial_number: 'B-1234', work_order: 'WO-2026-0142' }, 'installed'],
  ]) {
    for (const [name, value] of Object.entries(fields)) await page.locator(`#tmc-${step}-${name}`).fill(value);
    await page.locator(`#tmc-${step} button[type=submit]`).click();
    await page.locator(`.view-head .badge.parts_status-${status}`).waitFor();
  }
  check((await text(page, '#installed-serial')) === 'B-1234', 'installed, with its serial number');
  check((await page.locator('.commands').count()) === 0, 'an installed request offers no further step');
  await shot(page, 'tmc-request');
  await page.locator('#nav a', { hasText: 'Parts' }).click();
  await page.locator('#tmc-filters input[name=q]').fill('wheel ra-89001');
  await page.locator('#tmc-filters button[type=submit]').click();
  await page.locator('table.grid a.part-number', { hasText: 'D23189000-5' }).waitFor();
  await shot(page, 'tmc');
  await page.goto(aircraftUrl);
  await page.locator('#timeline li.event[data-type=PartInstalled]').waitFor();
  check(true, "the installation is on the aircraft's timeline");

  step('the audit log, its CSV export and the tamper verification');
  await page.locator('#nav a', { hasText: 'Audit' }).click();
  await page.locator('#audit-log table.grid').waitFor();
  const events = await page.locator('#audit-log table.grid tbody tr').count();
  check(events >= 6, `the log lists the ${events} events stored`);
  check((await page.locator('#audit-log', { hasText: 'Flight logged' }).count()) === 1, 'including the flight');
  await page.locator('#verify').click();
  await page.locator('#verify-status').waitFor();
  check((await text(page, '#verify-status')).startsWith('Intact'), 'the log verifies intact');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.locator('#export-csv').click()]);
  check(csv.suggestedFilename().endsWith('.csv'), `the CSV export downloads ${csv.suggestedFilename()}`);
  await page.locator('.panel summary', { hasText: 'Filters' }).click();
  await page.locator('#audit-registration').fill('RA-89001');
  await page.locator('#audit-event_type').fill('FlightLogged');
  await page.locator('#audit-filters button[type=submit]').click();
  await page.waitForFunction(() => document.querySelectorAll('#audit-log table.grid tbody tr').length === 1);
  check(true, 'filtering by registration and event type leaves its one flight');
  await shot(page, 'audit');

  step('statistics: charts and streaming health');
  await page.locator('#nav a', { hasText: 'Statistics' }).click();
  await page.locator('#health-status').waitFor();
  check((await text(page, '#health-status')) === 'Healthy', 'the read side is healthy');
  await page.locator('#chart-events').waitFor();
  check((await page.locator('#chart-events rect.bar').count()) >= 1, 'events per hour are charted');
  check((await page.locator('#chart-intake rect.bar').count()) >= 1, 'inbox intake is charted');
  await shot(page, 'stats');

  step('an expired token returns to sign-in');
  await expecting([/status of 401/], async () => {
    await page.evaluate(() => sessionStorage.setItem('klg.token', 'klg_revoked_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG'));
    await page.locator('#nav a', { hasText: 'Fleet' }).click();
    await page.locator('#signin').waitFor();
  });
  check((await page.locator('.signin .note.error').count()) === 1, 'the sign-in page says the session ended');

  step('phone width: every page');
  const phone = await newPage(browser, { viewport: PHONE, label: 'phone' });
  await phone.goto(base + '/');
  await shot(phone, 'signin');
  await signIn(phone, adminToken);
  for (const [name, hash, ready] of [
    ['fleet', '#/fleet', 'table.grid'],
    ['aircraft', `#/aircraft/${aircraftId}`, '#timeline li.event'],
    ['inbox', '#/inbox', 'table.grid'],
    ['document', `#/inbox/${documentId}`, '#document-name'],
    ['tmc', '#/tmc', 'table.grid'],
    ['audit', '#/audit', '#audit-log table.grid'],
    ['stats', '#/stats', '#health-status'],
  ]) {
    await phone.goto(`${base}/${hash}`);
    await phone.locator(ready).first().waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${name}: nothing wider than the phone (overflow ${overflow}px)`);
    await shot(phone, name);
  }

  step('a viewer token sees no write forms');
  const viewer = await newPage(browser, { label: 'viewer' });
  await signIn(viewer, viewerToken);
  const viewerNav = await viewer.locator('#nav a').allTextContents();
  check(!viewerNav.includes('Audit'), `the viewer is not offered the audit log (${viewerNav.join(', ')})`);
  await viewer.locator('table.grid a.reg', { hasText: 'RA-89001' }).waitFor();
  check((await viewer.locator('#register-panel, #register').count()) === 0, 'fleet: no register form');
  await viewer.locator('table.grid a.reg', { hasText: 'RA-89001' }).click();
  await viewer.locator('#registration').waitFor();
  check((await viewer.locator('form#log-flight, form#change-status, form#add-certificate, .commands').count()) === 0, 'aircraft: no command forms');
  check((await viewer.locator('#timeline').count()) === 0, 'aircraft: no timeline (auditors and admins only)');
  await shot(viewer, 'viewer-aircraft');
  await viewer.locator('#nav a', { hasText: 'Inbox' }).click();
  await viewer.locator('table.grid a.filename').first().waitFor();
  check((await viewer.locator('#upload, #upload-panel').count()) === 0, 'inbox: no upload form');
  await viewer.locator('table.grid a.filename').first().click();
  await viewer.locator('#document-name').waitFor();
  check((await viewer.locator('form#classify, form#link, form#process, form#reject, form#archive').count()) === 0, 'document: no command forms');
  check((await viewer.locator('button.download').count()) === 1, 'document: download offered');
  check((await viewer.locator('form').count()) === 1, 'the only form left is the "as of" picker');

  step('an engineer gets the forms but not the audit; an auditor the audit but not the forms');
  const engineer = await newPage(browser, { label: 'engineer' });
  await signIn(engineer, engineerToken);
  check(!(await engineer.locator('#nav a').allTextContents()).includes('Audit'), 'the engineer is not offered the audit log');
  await engineer.goto(`${base}/#/aircraft/${aircraftId}`);
  await engineer.locator('form#log-flight').waitFor();
  check((await engineer.locator('form#change-status, form#add-certificate').count()) === 2, 'the engineer has the command forms');
  check((await engineer.locator('#timeline').count()) === 0, 'but no timeline');
  const auditor = await newPage(browser, { label: 'auditor' });
  await signIn(auditor, auditorToken);
  check((await auditor.locator('#nav a').allTextContents()).includes('Audit'), 'the auditor is offered the audit log');
  await auditor.goto(`${base}/#/aircraft/${aircraftId}`);
  await auditor.locator('#timeline li.event').first().waitFor();
  check((await auditor.locator('.commands, form#log-flight').count()) === 0, 'the auditor reads the timeline and has no command forms');
  await auditor.goto(`${base}/#/inbox`);
  await auditor.locator('table.grid').waitFor();
  check((await auditor.locator('#upload').count()) === 0, 'and no upload form');

  step('Russian by default for a Russian browser, and the language switch');
  const ru = await newPage(browser, { locale: 'ru-RU', label: 'ru' });
  await ru.goto(base + '/');
  check((await text(ru, '.signin h3')) === 'Вход', 'the sign-in form is in Russian');
  await signIn(ru, adminToken);
  check((await ru.locator('#nav a').allTextContents()).includes('Парк'), 'the navigation is in Russian');
  await ru.locator('table.grid a.reg').first().waitFor();
  await shot(ru, 'fleet-ru');
  await ru.locator('#lang').selectOption('en');
  await ru.locator('#nav a', { hasText: 'Fleet' }).waitFor();
  check(true, 'the switch turns it to English');
  await ru.goto(`${base}/#/aircraft/${aircraftId}`);
  const hover = await ru.locator('#timeline time').first().getAttribute('title');
  check(/^UTC \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(hover || ''), `timeline times carry UTC on hover (${hover})`);
}

try {
  await main();
} catch (err) {
  console.error(`FAILED: ${err.stack || err}`);
  for (const p of problems) console.error(`  also: ${p}`);
  process.exit(1);
}
if (problems.length) {
  console.error('FAILED: the browser reported errors:');
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log('console browser test: all steps passed');
