/**
 * The operator page as an HTTP answer: a static document (markup, style and script fixed at build
 * time) with the board's current snapshot embedded as JSON data, so the bays are on the page as soon
 * as it has loaded (before the event stream delivers anything). Nothing else from the outside goes
 * into the markup; the script builds the tiles with textContent.
 *
 * The Content-Security-Policy allows exactly the inline style and script by their SHA-256, and
 * connections to the daemon itself: no other origin, no inline event handlers, no eval.
 */
import { createHash } from 'node:crypto';
import type { BoardSnapshot } from '../bay-board.js';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_STYLE } from './page-style.js';

const DATA_MARK = '@@BOARD_JSON@@';

const TEMPLATE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>at-pki station</title>
<link rel="icon" href="data:,">
<style>${PAGE_STYLE}</style>
</head>
<body>
<header class="top">
<h1>at-pki station</h1>
<span id="live" class="live" data-live="connecting">connecting</span>
<span id="updated" class="clock"></span>
</header>
<div id="banner" class="banner" role="alert" hidden></div>
<section class="totals" aria-label="station totals">
<div class="total passed"><div class="label">passed today</div><div class="value" id="passed-today">0</div></div>
<div class="total failed"><div class="label">failed today</div><div class="value" id="failed-today">0</div></div>
<div class="total"><div class="label">yield</div><div class="value" id="yield">\u2014</div></div>
<div class="total"><div class="label">units / hour</div><div class="value" id="units-hour">0</div></div>
<div class="total"><div class="label">remaining sets</div><div class="value" id="remaining-sets">\u2014</div></div>
</section>
<main id="bays" class="bays" aria-label="bays"></main>
<section class="failures" aria-label="last failures">
<h2>last failures</h2>
<ol id="failures"></ol>
</section>
<script type="application/json" id="board-data">${DATA_MARK}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;

const [BEFORE_DATA, AFTER_DATA] = TEMPLATE.split(DATA_MARK) as [string, string];

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(PAGE_SCRIPT)}`,
  `style-src ${sha256(PAGE_STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every page-like answer (the page, the 401 page). */
export function pageHeaders(csp: string): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
  };
}

/** The page with this snapshot embedded. */
export function operatorPage(snapshot: BoardSnapshot): string {
  return BEFORE_DATA + scriptSafeJson(snapshot) + AFTER_DATA;
}

/**
 * JSON that can sit inside a <script> element: `<`, `>` and `&` as \u escapes (no `</script>` or
 * `<!--` can end or change the element), and the two line separators JavaScript once disallowed.
 * JSON.parse gives back exactly the same value.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What a browser without the token or the cookie gets (401). Static: nothing of the request in it. */
export const UNAUTHORIZED_PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>at-pki station: token needed</title></head>
<body>
<h1>401: this station's page needs its token</h1>
<p>Open <code>/?token=&lt;api.token&gt;</code> once (the token of the daemon's config, <code>api.token</code> or
<code>api.tokenFile</code>); the browser then keeps a cookie for this page and the address bar shows <code>/</code>.</p>
</body>
</html>
`;

export const UNAUTHORIZED_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
