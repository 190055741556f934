/**
 * How a browser gets in on TCP without an Authorization header: it opens `/?token=<api.token>` once,
 * gets an HttpOnly, SameSite=Strict cookie and a 303 to `/` (the token leaves the address bar and the
 * history). The cookie holds an HMAC of the token, not the token: a copied cookie does not give the
 * bearer token away, and changing the token invalidates every cookie.
 *
 * The cookie opens only the page's own read-only routes (`GET /`, `/board`, `/events`); jobs and the
 * rest of the API still need `Authorization: Bearer`. Cookies are per host, not per port: the name
 * carries the TCP port so that two daemons on one host do not overwrite each other's.
 *
 * Every comparison hashes both sides and uses timingSafeEqual (equal lengths, no early exit).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The routes a page cookie opens (GET only). */
const PAGE_PATHS: ReadonlySet<string> = new Set(['/', '/board', '/events']);

export type Access = 'bearer' | 'cookie' | 'login' | 'none';

export class PageAuth {
  readonly cookieName: string;
  readonly #token: (candidate: string) => boolean;
  readonly #cookie: (candidate: string) => boolean;
  readonly #cookieValue: string;

  constructor(token: string, tcpPort: number) {
    this.cookieName = `at_pki_${tcpPort}`;
    this.#token = secretMatcher(token);
    this.#cookieValue = createHmac('sha256', token).update('at-pki operator page cookie').digest('base64url');
    this.#cookie = secretMatcher(this.#cookieValue);
  }

  /**
   * - `bearer`: a valid `Authorization: Bearer` header (everything);
   * - `login`: `GET /?token=<valid token>` (answer with `loginHeaders()` and a 303);
   * - `cookie`: a valid page cookie on a GET of a page route;
   * - `none`: refuse (401).
   */
  check(req: IncomingMessage, path: string, query: URLSearchParams): Access {
    const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
    if (bearer && this.#token(bearer[1]!)) return 'bearer';
    if (req.method !== 'GET' || !PAGE_PATHS.has(path)) return 'none';
    const token = query.get('token');
    if (token !== null) return path === '/' && this.#token(token) ? 'login' : 'none';
    return cookieValues(req.headers.cookie, this.cookieName).some((value) => this.#cookie(value)) ? 'cookie' : 'none';
  }

  /** The 303 after a login: the cookie, and back to `/` without the token. */
  loginHeaders(): Record<string, string> {
    return {
      Location: '/',
      'Set-Cookie': `${this.cookieName}=${this.#cookieValue}; HttpOnly; SameSite=Strict; Path=/`,
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
    };
  }
}

/** A constant-time check of candidates against one secret. */
function secretMatcher(secret: string): (candidate: string) => boolean {
  const expected = createHash('sha256').update(secret).digest();
  return (candidate) => timingSafeEqual(createHash('sha256').update(candidate).digest(), expected);
}

function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  return values;
}
