/**
 * The operator page's routes over HTTP, without a browser: `GET /`, `/board`, `/events` on the unix
 * socket (no token) and on TCP (bearer, or the page cookie after `/?token=…`): what the cookie opens
 * and what it does not, the 401 answers, the headers (CSP allowing exactly the inline script and
 * style), the embedded board (escaped), and no token in the log.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorPage, scriptSafeJson } from '../../src/station/page/operator-page.js';
import { emulatedPort, eventually, raw, removePorts, startTestStation, type EmulatedPort, type TestStation } from './support.js';

const TOKEN = 'page-api-test-token-0123456789abcdef';

let a: EmulatedPort;
let t: TestStation;
let tcp: { host: string; port: number };

beforeAll(async () => {
  a = emulatedPort('a');
  t = await startTestStation({ ports: [a], config: { api: { socket: 'api.sock', tcp: { port: 0 }, token: TOKEN } } });
  tcp = t.station.tcpAddress!;
  await eventually(() => t.station.board.bay('a')?.state === 'waiting', 'bay a waiting');
});

afterAll(async () => {
  await t?.stop();
  removePorts([a]);
});

/** The first `board` event of GET /events (then the connection is closed). */
function firstEvent(target: { socket: string } | { host: string; port: number }, headers: Record<string, string> = {}): Promise<{ status: number; type?: string; data?: unknown }> {
  return new Promise((resolve, reject) => {
    const where = 'socket' in target ? { socketPath: target.socket } : { host: target.host, port: target.port };
    const req = request({ ...where, path: '/events', headers }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        const match = /^event: board\ndata: (.*)\n\n/m.exec(text);
        if (match) {
          req.destroy();
          resolve({ status: 200, type: res.headers['content-type'], data: JSON.parse(match[1]!) });
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function embeddedBoard(html: string): unknown {
  const match = /<script type="application\/json" id="board-data">(.*?)<\/script>/s.exec(html);
  return JSON.parse(match![1]!);
}

describe('operator page routes', () => {
  it('serves the page on the unix socket without a token: board embedded, CSP allowing only its own inline script and style', async () => {
    const page = await raw({ socket: t.socket }, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(embeddedBoard(page.text)).toEqual(t.station.board.snapshot());
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    const inline = (tag: string) => [...page.text.matchAll(new RegExp(`<${tag}>(.*?)</${tag}>`, 'gs'))].map((m) => m[1]!);
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    expect(inline('script')).toHaveLength(1);
    expect(csp).toContain(`script-src ${hash(inline('script')[0]!)};`);
    expect(inline('style')).toHaveLength(1);
    expect(csp).toContain(`style-src ${hash(inline('style')[0]!)};`);

    const board = await raw({ socket: t.socket }, 'GET', '/board');
    expect(board.status).toBe(200);
    expect(board.json).toEqual(t.station.board.snapshot());
    const event = await firstEvent({ socket: t.socket });
    expect(event).toMatchObject({ status: 200, type: 'text/event-stream; charset=utf-8' });
    expect(event.data).toEqual(t.station.board.snapshot());
  });

  it('on TCP: 401 without token or cookie (a small page for GET /, JSON elsewhere)', async () => {
    const page = await raw(tcp, 'GET', '/');
    expect(page.status).toBe(401);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.text).toContain('/?token=');
    expect(page.text).not.toContain('board-data');
    for (const path of ['/board', '/status', '/?token=' + TOKEN.slice(0, -1), '/board?token=' + TOKEN]) {
      expect((await raw(tcp, 'GET', path)).status, path).toBe(401);
    }
    expect((await firstEvent(tcp)).status).toBe(401);
  });

  it('logs a browser in with /?token=…: an HttpOnly SameSite=Strict cookie (not the token) and a 303 to /', async () => {
    const login = await raw(tcp, 'GET', `/?token=${encodeURIComponent(TOKEN)}`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    expect(login.text).toBe('');
    const setCookie = login.headers['set-cookie'] as string[];
    expect(setCookie).toHaveLength(1);
    const [pair, ...attributes] = setCookie[0]!.split('; ');
    expect(pair!.startsWith(`at_pki_${tcp.port}=`)).toBe(true);
    expect(pair).not.toContain(TOKEN);
    expect(attributes.sort()).toEqual(['HttpOnly', 'Path=/', 'SameSite=Strict']);
    const cookie = { Cookie: `other=1; ${pair}` };

    // The cookie opens the page's own routes …
    const page = await raw(tcp, 'GET', '/', { headers: cookie });
    expect(page.status).toBe(200);
    expect(embeddedBoard(page.text)).toEqual(t.station.board.snapshot());
    expect((await raw(tcp, 'GET', '/board', { headers: cookie })).json).toEqual(t.station.board.snapshot());
    expect((await firstEvent(tcp, cookie)).data).toEqual(t.station.board.snapshot());
    // … and nothing else: jobs and the rest of the API still need the bearer token.
    expect((await raw(tcp, 'GET', '/status', { headers: cookie })).status).toBe(401);
    expect((await raw(tcp, 'GET', '/jobs', { headers: cookie })).status).toBe(401);
    const job = await raw(tcp, 'POST', '/jobs', { headers: cookie, body: JSON.stringify({ type: 'partitions', port: 'a' }) });
    expect(job.status).toBe(401);
    expect(t.station.jobs.list()).toEqual([]);
    // A tampered cookie, or one under another port's name, opens nothing.
    const value = pair!.split('=')[1]!;
    expect((await raw(tcp, 'GET', '/board', { headers: { Cookie: `at_pki_${tcp.port}=${value.slice(0, -1)}A` } })).status).toBe(401);
    expect((await raw(tcp, 'GET', '/board', { headers: { Cookie: `at_pki_${tcp.port + 1}=${value}` } })).status).toBe(401);
  });

  it('still takes the bearer token for the page routes, and never logs the token', async () => {
    const bearer = { Authorization: `Bearer ${TOKEN}` };
    expect((await raw(tcp, 'GET', '/', { headers: bearer })).status).toBe(200);
    expect((await raw(tcp, 'GET', '/board', { headers: bearer })).status).toBe(200);
    expect((await firstEvent(tcp, bearer)).status).toBe(200);
    expect(t.logs.join('\n')).not.toContain(TOKEN);
  });
});

describe('the embedded board', () => {
  it('cannot end or change its script element, and parses back to the same value', () => {
    const hostile = { text: '</script><script>alert(1)</script><!-- & \u2028\u2029 >' };
    const json = scriptSafeJson(hostile);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(hostile);
    const page = operatorPage({ bays: [{ bay: 'a', state: 'failed', reason: hostile.text, since: new Date(0).toISOString() }], totals: { passedToday: 0, failedToday: 0, yield: null, unitsLastHour: 0, remainingSets: null, lastFailures: [] } });
    expect(page.match(/<\/script>/g)).toHaveLength(2);
    expect(page).not.toContain('alert(1)</script>');
  });
});
