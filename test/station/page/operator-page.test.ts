/**
 * The operator page in a real browser (Debian's Chromium through playwright-core): the daemon runs
 * on emulated bays with its TCP listener; the page is opened the way an operator opens it
 * (`/?token=…` once, then the cookie), and the tiles follow what happens on the bays: a unit
 * provisioned (provisioning with phase and progress → passed), a failing unit (failed with its
 * reason), a unit removed, hostile text, the stream dropping and coming back. Also what
 * `chromium --dump-dom` shows after `/?token=…`, with 2 and with 16 bays.
 *
 * AT_PKI_PAGE_SCREENSHOT=docs/operator-page.png writes the README's screenshot (mixed states).
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { EspAtEmulator } from '../../../mock-device/index.js';
import type { BayState } from '../../../src/station/bay-board.js';
import { chromiumRequired, dumpDom, hasChromium, launchBrowser, type TestBrowser } from '../../support/browser.js';
import { emulatedPort, eventually, finished, pem, removePorts, startTestStation, type EmulatedPort, type TestStation } from '../support.js';

const TOKEN = 'operator-page-test-token-0123456789';
const WAIT_MS = 30_000;
const CERT = { kind: 'items' as const, items: [{ type: 'cert' as const, pem: pem('device.crt') }] };
const TEST_MS = 120_000;

const tcpConfig = (port = 0) => ({ api: { socket: 'api.sock', tcp: { host: '127.0.0.1', port }, token: TOKEN } });

function base(t: TestStation): string {
  return `http://127.0.0.1:${t.station.tcpAddress!.port}`;
}

const tile = (bay: string, state?: BayState) => `#bays article[data-bay="${bay}"]${state ? `[data-state="${state}"]` : ''}`;

async function allWaiting(t: TestStation): Promise<void> {
  await eventually(() => t.station.board.snapshot().bays.every((bay) => bay.state === 'waiting'), 'every bay waiting (ports up)', WAIT_MS);
}

/**
 * Holds the module's answers from its first flash write on (AT+SYSFLASH=1) until open(): the job
 * stays in its provisioning phase for as long as the test needs, with no timing involved.
 */
function holdAtFirstWrite(emulator: EspAtEmulator): { holding: Promise<void>; open(): void } {
  let state: 'armed' | 'holding' | 'open' = 'armed';
  const held: Buffer[] = [];
  let started!: () => void;
  const holding = new Promise<void>((resolve) => (started = resolve));
  emulator.setFaultInjector({
    onCommand(line) {
      if (state === 'armed' && line.startsWith('AT+SYSFLASH=1,')) {
        state = 'holding';
        started();
      }
    },
    filterOutput(chunk) {
      if (state !== 'holding') return chunk;
      held.push(chunk);
      return null;
    },
  });
  return {
    holding,
    open() {
      state = 'open';
      emulator.setFaultInjector(undefined);
      for (const chunk of held.splice(0)) emulator.emit('data', chunk);
    },
  };
}

/** Records every data-state the bay's tile takes, in the page. */
async function watchStates(page: Page, bay: string): Promise<() => Promise<string[]>> {
  await page.evaluate((name) => {
    const seen: string[] = [];
    (window as unknown as Record<string, string[]>)[`states_${name}`] = seen;
    const grid = document.getElementById('bays')!;
    const record = (): void => {
      const state = grid.querySelector<HTMLElement>(`article[data-bay="${name}"]`)?.dataset.state;
      if (state && seen.at(-1) !== state) seen.push(state);
    };
    record();
    new MutationObserver(record).observe(grid, { subtree: true, childList: true, attributes: true });
  }, bay);
  return () => page.evaluate((name) => [...(window as unknown as Record<string, string[]>)[`states_${name}`]!], bay);
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent()) ?? '';
}

if (!hasChromium && chromiumRequired) {
  describe('operator page in Chromium', () => {
    it('has /usr/bin/chromium (CI installs it in .ci/run)', () => {
      expect(hasChromium).toBe(true);
    });
  });
}

describe.skipIf(!hasChromium)('operator page in Chromium, two bays', () => {
  let a: EmulatedPort;
  let b: EmulatedPort;
  let t: TestStation;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    a = emulatedPort('a');
    b = emulatedPort('b');
    // Long command timeout on a: its answers are held while the test looks at the page.
    t = await startTestStation({ ports: [{ ...a, timeoutMs: 60_000 }, b], config: tcpConfig() });
    await allWaiting(t);
    browser = await launchBrowser();
    page = await browser.context.newPage();
  }, TEST_MS);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    removePorts([a, b]);
    if (t) rmSync(t.dir, { recursive: true, force: true });
  });

  it('refuses a browser without the token (401 page), logs it in with /?token=… once: cookie, 303 to /', async () => {
    const refused = await page.goto(`${base(t)}/`);
    expect(refused!.status()).toBe(401);
    expect(await page.textContent('h1')).toContain('token');
    expect(await page.locator('#bays').count()).toBe(0);
    expect((await page.goto(`${base(t)}/?token=${TOKEN}x`))!.status()).toBe(401);
    expect(await browser.context.cookies()).toEqual([]);

    const answer = await page.goto(`${base(t)}/?token=${TOKEN}`);
    expect(answer!.status()).toBe(200);
    const redirect = await answer!.request().redirectedFrom()!.response();
    expect(redirect!.status()).toBe(303);
    expect(page.url()).toBe(`${base(t)}/`);
    const cookies = await browser.context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: `at_pki_${t.station.tcpAddress!.port}`, path: '/', httpOnly: true, sameSite: 'Strict' });
    expect(cookies[0]!.value).not.toContain(TOKEN);
    expect(await page.evaluate(() => document.cookie)).toBe('');

    for (const name of ['a', 'b']) {
      expect(await text(page, `${tile(name, 'waiting')} .bay-name`)).toBe(name);
      expect(await text(page, `${tile(name)} .bay-state`)).toBe('waiting');
    }
    await page.waitForSelector('#live[data-live="true"]', { timeout: WAIT_MS });
    expect(await page.isHidden('#banner')).toBe(true);

    // The cookie alone opens the page again (a new tab, no token).
    const again = await browser.context.newPage();
    expect((await again.goto(`${base(t)}/`))!.status()).toBe(200);
    await again.waitForSelector(tile('b', 'waiting'), { timeout: WAIT_MS });
    await again.close();
  }, TEST_MS);

  it('shows a unit going through provisioning (phase, progress bar) to passed', async () => {
    const states = await watchStates(page, 'a');
    const gate = holdAtFirstWrite(a.emulator);
    const { id } = await t.client.submitJob({ type: 'update', port: 'a', partition: 'client_cert', source: CERT });
    await gate.holding;
    // The bar is there from 0 % on (a zero-width fill counts as hidden to Playwright).
    await page.waitForSelector(`${tile('a', 'provisioning')} .bar .fill`, { state: 'attached', timeout: WAIT_MS });
    const phase = await text(page, `${tile('a')} .bay-phase`);
    expect(phase).toMatch(/^(compare|erase|write|read|verify)( \d+%)?$/);
    expect(t.station.board.bay('a')).toMatchObject({ state: 'provisioning', phase: expect.any(String), progress: expect.any(Object) });
    gate.open();
    expect((await finished(t.client, id)).state).toBe('succeeded');
    await page.waitForSelector(tile('a', 'passed'), { timeout: WAIT_MS });
    expect(await states()).toEqual(['waiting', 'provisioning', 'passed']);
    expect(await text(page, `${tile('a')} .bay-hint`)).toBe('remove the unit');
    expect(await text(page, '#passed-today')).toBe('1');
    expect(await text(page, '#yield')).toBe('100.0 %');
    expect(await text(page, `${tile('b')} .bay-state`)).toBe('waiting');
  }, TEST_MS);

  it('shows a failing unit as failed with its reason, in the tile and the last failures', async () => {
    b.emulator.setFaults({ error: { p: 1, match: 'SYSFLASH=1' } });
    const { id } = await t.client.submitJob({ type: 'update', port: 'b', partition: 'client_cert', source: CERT });
    const job = await finished(t.client, id);
    b.emulator.setFaults(undefined);
    expect(job.state).toBe('failed');
    await page.waitForSelector(tile('b', 'failed'), { timeout: WAIT_MS });
    expect(await text(page, `${tile('b')} .bay-reason`)).toBe(job.error!.message);
    expect(await text(page, '#failures li .why')).toBe(job.error!.message);
    expect(await text(page, '#failures li .where')).toBe('b');
    expect(await text(page, '#failed-today')).toBe('1');
    expect(await text(page, '#yield')).toBe('50.0 %');
    // The passed unit on a still shows passed: a result stays until its unit leaves.
    expect(await text(page, `${tile('a')} .bay-state`)).toBe('passed');
  }, TEST_MS);

  it('clears the result when the unit is removed (the port goes down)', async () => {
    const boardStates: string[] = [];
    const onChange = (): void => {
      const state = t.station.board.bay('a')!.state;
      if (boardStates.at(-1) !== state) boardStates.push(state);
    };
    t.station.board.on('change', onChange);
    a.emulator.unplug();
    // The emulator powers on again when reopened: the bay then waits for the next unit. (The page
    // may get `down` and `waiting` in one coalesced update, so `down` is checked on the board.)
    await page.waitForSelector(tile('a', 'waiting'), { timeout: WAIT_MS });
    await eventually(() => boardStates.at(-1) === 'waiting', 'bay a waiting on the board');
    t.station.board.off('change', onChange);
    expect(boardStates).toEqual(['down', 'waiting']);
  }, TEST_MS);

  it('shows hostile set names and reasons as text, in the embedded board and in live updates', async () => {
    const hostile = {
      set: '<img src=x onerror="window.pwned=1">',
      reason: '</script><script>window.pwned=2</script> & <b>bold</b> \u2028',
      device: 'aa:bb:cc:dd:ee:ff',
    };
    t.station.boardFeed.detach();
    t.station.board.set('b', { state: 'failed', ...hostile });
    t.station.board.record({ bay: 'b', ok: false, reason: '<i>x</i></li><script>window.pwned=3</script>' });
    const fresh = await browser.context.newPage();
    await fresh.goto(`${base(t)}/`);
    for (const view of [fresh, page]) {
      await view.waitForSelector(tile('b', 'failed'), { timeout: WAIT_MS });
      await eventually(async () => (await text(view, `${tile('b')} .bay-reason`)) === hostile.reason, 'the hostile reason shown');
      expect(await text(view, `${tile('b')} .bay-facts dd:nth-of-type(2)`)).toBe(hostile.set);
      expect(await text(view, '#failures li .why')).toBe('<i>x</i></li><script>window.pwned=3</script>');
      expect(await view.locator('#bays img, #bays b, #bays script, #failures i, #failures script').count()).toBe(0);
      expect(await view.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    }
    await fresh.close();
  }, TEST_MS);

  it('dump-dom after /?token=… holds every bay with its state', async () => {
    const dom = await dumpDom(`${base(t)}/?token=${TOKEN}`);
    expect(dom).toMatch(/<article class="bay" data-bay="a" data-state="waiting">/);
    expect(dom).toMatch(/<article class="bay" data-bay="b" data-state="failed">/);
    expect(dom).toContain('<span class="bay-name">a</span>');
    expect(dom).toContain('<div class="bay-state">failed</div>');
  }, TEST_MS);

  it('shows a disconnected banner when the stream drops, and recovers when the daemon is back', async () => {
    const port = t.station.tcpAddress!.port;
    await t.station.stop();
    await page.waitForSelector('#banner:not([hidden])', { timeout: WAIT_MS });
    expect(await text(page, '#banner')).toMatch(/^Disconnected/);
    expect(await text(page, '#live')).toBe('disconnected');
    // Same port and token: the browser's cookie is good again, EventSource reconnects on its own.
    t = await startTestStation({ ports: [{ ...a, timeoutMs: 60_000 }, b], config: tcpConfig(port), dir: t.dir });
    await page.waitForSelector('#live[data-live="true"]', { timeout: WAIT_MS });
    expect(await page.isHidden('#banner')).toBe(true);
    await page.waitForSelector(tile('b', 'waiting'), { timeout: WAIT_MS });
  }, TEST_MS);
});

describe.skipIf(!hasChromium)('operator page in Chromium, sixteen bays', () => {
  const names = Array.from({ length: 16 }, (_, i) => `bay-${String(i + 1).padStart(2, '0')}`);
  let ports: EmulatedPort[];
  let t: TestStation;
  let browser: TestBrowser;

  beforeAll(async () => {
    ports = names.map((name) => emulatedPort(name));
    t = await startTestStation({ ports, config: tcpConfig() });
    await allWaiting(t);
    browser = await launchBrowser({ width: 1920, height: 1080 });
  }, TEST_MS);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    removePorts(ports ?? []);
  });

  it('shows every bay, four to a row on a full-HD screen, one per row on a phone', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${base(t)}/?token=${TOKEN}`);
    const boxes = [];
    for (const name of names) {
      expect(await text(page, `${tile(name, 'waiting')} .bay-name`)).toBe(name);
      boxes.push((await page.locator(tile(name)).boundingBox())!);
    }
    expect(new Set(boxes.map((box) => Math.round(box.x))).size).toBe(4);
    expect(new Set(boxes.map((box) => Math.round(box.y))).size).toBe(4);
    expect(Math.max(...boxes.map((box) => box.x + box.width))).toBeLessThanOrEqual(1920);
    if (process.env.AT_PKI_PAGE_SCREENSHOT_16) await page.screenshot({ path: process.env.AT_PKI_PAGE_SCREENSHOT_16 });
    await page.setViewportSize({ width: 400, height: 900 });
    await eventually(async () => new Set(await Promise.all(names.map(async (name) => Math.round((await page.locator(tile(name)).boundingBox())!.x)))).size === 1, 'one column');
    await page.close();
  }, TEST_MS);

  it('dump-dom after /?token=… holds all sixteen bays with their states', async () => {
    const dom = await dumpDom(`${base(t)}/?token=${TOKEN}`);
    for (const name of names) {
      expect(dom).toContain(`<article class="bay" data-bay="${name}" data-state="waiting">`);
      expect(dom).toContain(`<span class="bay-name">${name}</span>`);
    }
  }, TEST_MS);
});

describe.skipIf(!hasChromium)('operator page in Chromium, mixed states', () => {
  const names = ['bay-1', 'bay-2', 'bay-3', 'bay-4', 'bay-5', 'bay-6'];
  let ports: EmulatedPort[];
  let t: TestStation;
  let browser: TestBrowser;

  beforeAll(async () => {
    ports = names.map((name) => emulatedPort(name));
    t = await startTestStation({ ports, config: tcpConfig() });
    await allWaiting(t);
    browser = await launchBrowser({ width: 1600, height: 1000 });
  }, TEST_MS);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    removePorts(ports ?? []);
  });

  it('gives each state its own colour', async () => {
    // What station mode shows; the plain-daemon feed is off so that nothing overrides it.
    t.station.boardFeed.detach();
    const board = t.station.board;
    board.set('bay-1', { state: 'passed', device: '34:85:18:00:12:a4', set: 'set-0042' });
    board.set('bay-2', { state: 'provisioning', device: '34:85:18:00:12:b8', set: 'set-0043', phase: 'write', progress: { done: 2730, total: 4096 } });
    board.set('bay-3', { state: 'failed', device: '34:85:18:00:13:0c', reason: 'verify: client_cert differs at 0x1f000 after the write [module holds a partial write]' });
    board.set('bay-4', { state: 'identifying' });
    board.set('bay-5', { state: 'waiting' });
    board.set('bay-6', { state: 'down', reason: 'port bay-6 went away: device disconnected' });
    for (let i = 0; i < 41; i++) board.record({ bay: names[i % 3]!, ok: true });
    board.record({ bay: 'bay-3', device: '34:85:18:00:13:0c', ok: false, reason: 'verify: client_cert differs at 0x1f000 after the write [module holds a partial write]' });
    board.setRemainingSets(958);

    const page = await browser.context.newPage();
    await page.goto(`${base(t)}/?token=${TOKEN}`);
    await page.waitForSelector('#live[data-live="true"]', { timeout: WAIT_MS });
    const colours = new Map<string, string>();
    for (const name of names) {
      const state = (await page.getAttribute(tile(name), 'data-state'))!;
      colours.set(state, await page.locator(tile(name)).evaluate((node) => getComputedStyle(node).backgroundImage + getComputedStyle(node).backgroundColor));
    }
    expect([...colours.keys()].sort()).toEqual(['down', 'failed', 'identifying', 'passed', 'provisioning', 'waiting']);
    expect(new Set(colours.values()).size).toBe(6);
    expect(await page.getAttribute(`${tile('bay-2')} .bar`, 'aria-valuenow')).toBe('66');
    expect(await text(page, '#remaining-sets')).toBe('958');
    expect(await text(page, '#yield')).toBe('97.6 %');
    const screenshot = process.env.AT_PKI_PAGE_SCREENSHOT;
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    await page.close();
  }, TEST_MS);
});
