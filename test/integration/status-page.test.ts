/**
 * The live status page (issue 13 item 3) in a real browser: Debian's
 * headless Chromium driven by playwright-core. SIPp places calls through a
 * SIPp carrier and some refused ones; the page shows the active calls
 * against the trunk's cap, the refusals, the CPS figures, updates itself over
 * server-sent events when the calls end, and draws a call's SIP ladder (both
 * legs) from the message store. Screenshots go to test-results/ (gitignored).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { expectAllReleased, expectSippSucceeded } from '../support/assertions.js';
import { sipTarget, startTestGateway } from '../support/gateway.js';
import { pbxScenario } from '../support/scenarios.js';
import { runSipp, startSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'test-results');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/** What Debian's Chromium needs to run headless here (no sandbox as root, no network of its own). */
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let profile: string;
let browser: BrowserContext;
let gateway: Gateway | undefined;

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'trunkgate-chromium-'));
  // a fresh profile (--user-data-dir) for every run
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1400, height: 1000 } });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(profile, { recursive: true, force: true });
});

afterEach(async () => {
  for (const p of browser.pages()) await p.close();
  await gateway?.stop();
  gateway = undefined;
});

async function open(g: Gateway, hash = ''): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${g.httpAddress?.port}/${hash}`);
  expect(errors).toEqual([]);
  return page;
}

/** The bits of DOM elements the page checks read (the test is compiled without the DOM library). */
interface Element {
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
}

const text = (page: Page, selector: string): Promise<string[]> => page.locator(selector).allInnerTexts();

describe('the status page', () => {
  it('shows active calls against the cap, refusals and CPS live, and a call’s SIP ladder with both legs', async () => {
    const held = 3;
    const carrier = await startSipp({ scenario: 'uas', transport: 'u1', calls: held, timeoutSeconds: 60 });
    gateway = await startTestGateway({
      trunks: [{ name: 'demo', account: 'demo', cps: { default: 50 }, maxConcurrentCalls: 5, auth: { ipAcl: ['127.0.0.0/8'] }, route: `sip:127.0.0.1:${carrier.localPort}` }],
    });
    const g = gateway;
    const page = await open(g);
    await page.locator('#live.on').waitFor({ timeout: 10_000 });
    expect(await text(page, '#calls tbody td')).toEqual(['none']);

    // three calls held up for a few seconds, and two refused (not E.164)
    const pbx = await startSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 6000 } }), target: sipTarget(g), calls: held, rate: 10, timeoutSeconds: 60 });
    expectSippSucceeded(await runSipp({ scenario: pbxScenario({ number: '12345', final: 400, finalReason: 'Invalid Phone Number' }), target: sipTarget(g), calls: 2, rate: 10, timeoutSeconds: 30 }), 2);
    await waitFor(() => g.b2bua.activeCalls === held && g.b2bua.calls.size === held && [...g.b2bua.calls.values()].every((c) => c.state === 'answered'), { what: 'three answered calls' });

    // the page catches up by itself (server-sent events), no reload
    await waitFor(async () => (await page.locator('#calls tbody a[data-call]').count()) === held, { what: 'three calls on the page' });
    const ids = [...g.b2bua.calls.keys()].sort();
    expect((await page.locator('#calls tbody a[data-call]').evaluateAll((as: Element[]) => as.map((a) => a.getAttribute('data-call')))).sort()).toEqual(ids);
    expect(await text(page, '#calls tbody tr td:nth-child(5)')).toEqual(['answered', 'answered', 'answered']);
    const trunkRow = page.locator('#trunks tbody tr[data-trunk="demo"][data-region="us1"]');
    await waitFor(async () => (await trunkRow.locator('td.active').innerText()) === String(held), { what: 'the trunk row to show 3 active calls' });
    expect(await trunkRow.locator('td:nth-child(6)').innerText()).toBe(`${held} / 5`);
    expect(await trunkRow.locator('td.cps').innerText()).toMatch(/^\d+ \/ 50$/);
    const refusals = await text(page, '#refusals tbody tr');
    expect(refusals).toHaveLength(2);
    for (const r of refusals) expect(r).toMatch(/^\d\d:\d\d:\d\d\t400\tInvalid Phone Number\tdemo\t127\.0\.0\.1:\d+\t\d+-\d+@/);
    await page.screenshot({ path: join(RESULTS, 'status-page.png'), fullPage: true });

    // the ladder of one call: both legs, in order, from the message store
    const id = ids[0] as string;
    await page.locator(`#calls a[data-call="${id}"]`).click();
    await page.locator('#ladder svg .arrow').first().waitFor();
    const labels = await page.locator('#ladder svg .arrow').evaluateAll((gs: Element[]) => gs.map((g) => `${g.getAttribute('data-leg')} ${g.querySelectorAll('text')[1]?.textContent ?? ''}`));
    expect(labels.slice(0, 3)).toEqual(['a INVITE', 'a 100 trying -- your call is important to us', 'b INVITE']);
    expect(labels).toEqual(expect.arrayContaining(['b 200 OK', 'b ACK', 'a 200 OK', 'a ACK']));
    expect(await page.locator('#ladder svg > text').allTextContents()).toEqual(expect.arrayContaining(['PBX', 'trunkgate', 'carrier', `127.0.0.1:${carrier.localPort}`, `127.0.0.1:${g.address('udp').port}`]));
    await page.locator('#ladder svg .arrow').first().click();
    expect(await page.locator('#message-text').textContent()).toMatch(/received on leg A over udp, 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+\n\nINVITE sip:\+14155550123@demo\.pstn\.twilio\.com SIP\/2\.0\r\n/);
    expect(await page.locator('#pcap-link').getAttribute('href')).toBe(`/v1/calls/${id}/pcap`);
    await page.screenshot({ path: join(RESULTS, 'status-page-ladder.png'), fullPage: true });
    if (process.env['TRUNKGATE_DOCS_SCREENSHOT'] === '1') await page.screenshot({ path: join(ROOT, 'docs', 'status-page.png'), fullPage: true });

    // the calls end: the page follows, and lists them as answered among the recent calls
    expectSippSucceeded(await pbx.done, held);
    await expectAllReleased(g);
    await waitFor(async () => (await text(page, '#calls tbody td')).join() === 'none', { what: 'the page to show no active call', timeoutMs: 10_000 });
    await waitFor(async () => (await text(page, '#recent tbody td:nth-child(6)')).filter((t) => t === 'admitted, answered').length === held, { what: 'three answered calls among the recent ones' });
    expect(await text(page, '#recent tbody td:nth-child(6)')).toEqual(expect.arrayContaining(['400 Invalid Phone Number']));
  });

  it('opens a refused call’s ladder from a link (#call=Call-ID)', async () => {
    gateway = await startTestGateway();
    const g = gateway;
    expectSippSucceeded(await runSipp({ scenario: pbxScenario({ number: '12345', final: 400 }), target: sipTarget(g), calls: 1, timeoutSeconds: 30 }), 1);
    const callId = g.observability.traffic.recentRefusals(1)[0]?.callId as string;
    await waitFor(() => g.observability.store.find(callId)?.messages.length === 4, { what: 'the ACK to be stored' });
    const page = await open(g, `#call=${encodeURIComponent(callId)}`);
    await waitFor(async () => (await page.locator('#ladder svg .arrow').count()) === 4, { what: 'four arrows' });
    expect(await page.locator('#ladder svg .arrow text:nth-of-type(2)').allTextContents()).toEqual(['INVITE', '100 trying -- your call is important to us', '400 Invalid Phone Number', 'ACK']);
    expect(await page.locator('#ladder-title').innerText()).toContain('400 Invalid Phone Number');
  });

  it('with http.token: asks for the token, then connects with it (the page itself holds no data)', async () => {
    gateway = await startTestGateway({ http: { listen: '127.0.0.1:0', token: 'sekrit-token-1' } });
    const g = gateway;
    const page = await open(g);
    await page.locator('#token-form').waitFor({ state: 'visible' });
    expect(await page.locator('#summary').innerText()).toBe('this gateway wants its API token');
    await page.locator('#token').fill('sekrit-token-1');
    await page.locator('#token-form button').click();
    await page.locator('#live.on').waitFor({ timeout: 10_000 });
    await waitFor(async () => (await page.locator('#trunks tbody tr[data-trunk="demo"]').count()) > 0, { what: 'the trunk table' });
    expect(await page.locator('#token-form').isHidden()).toBe(true);
  });
});
