/**
 * The operator page's script (served inline, allowed by its hash in the Content-Security-Policy).
 *
 * It renders the board from the snapshot embedded in the page (so the bays are in the DOM as soon as
 * the page has loaded), then follows `GET /events` (server-sent `board` events, each a full
 * snapshot). All data goes into the DOM through textContent and dataset: a set name or reason holding
 * markup stays text. EventSource reconnects by itself after a dropped connection; when the server
 * refused the stream (it is then closed for good) a new one is opened a little later. While the
 * stream is down a banner says so.
 *
 * Plain ES2020 in a string (no backticks, no template placeholders: this is a TS template literal).
 */
export const PAGE_SCRIPT = `
'use strict';
(function () {
  var HINTS = {
    waiting: 'insert a unit',
    identifying: 'reading the unit\\u2019s identity',
    passed: 'remove the unit',
    failed: 'remove the unit',
  };
  var RETRY_MS = 3000;
  var tiles = new Map();

  function byId(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clock(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return '';
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }

  function percent(progress) {
    if (!progress || !(progress.total > 0)) return null;
    return Math.max(0, Math.min(100, Math.floor((progress.done * 100) / progress.total)));
  }

  function fact(list, label, value) {
    if (value === undefined || value === null || value === '') return;
    list.append(el('dt', '', label), el('dd', '', value));
  }

  function renderBay(tile, bay) {
    tile.dataset.bay = bay.bay;
    tile.dataset.state = bay.state;
    var parts = [];
    var head = el('div', 'bay-head');
    head.append(el('span', 'bay-name', bay.bay), el('span', 'bay-since', 'since ' + clock(bay.since)));
    parts.push(head, el('div', 'bay-state', bay.state));
    if (bay.state === 'provisioning' || bay.state === 'identifying') {
      var pct = percent(bay.progress);
      if (bay.phase || pct !== null) parts.push(el('div', 'bay-phase', (bay.phase || '') + (pct === null ? '' : ' ' + pct + '%')));
      if (bay.state === 'provisioning') {
        var bar = el('div', 'bar');
        var fill = el('div', 'fill');
        fill.style.width = (pct === null ? 0 : pct) + '%';
        bar.setAttribute('role', 'progressbar');
        bar.setAttribute('aria-valuemin', '0');
        bar.setAttribute('aria-valuemax', '100');
        bar.setAttribute('aria-valuenow', String(pct === null ? 0 : pct));
        bar.append(fill);
        parts.push(bar);
      }
    }
    var facts = el('dl', 'bay-facts');
    fact(facts, 'MAC', bay.device);
    fact(facts, 'Set', bay.set);
    fact(facts, 'Cert', bay.subject);
    if (facts.childElementCount > 0) parts.push(facts);
    if (bay.reason) parts.push(el('div', 'bay-reason', bay.reason));
    if (HINTS[bay.state]) parts.push(el('div', 'bay-hint', HINTS[bay.state]));
    tile.replaceChildren.apply(tile, parts);
  }

  function renderBays(bays) {
    var grid = byId('bays');
    var seen = new Set();
    var count = bays.length;
    grid.style.setProperty('--cols', String(count <= 4 ? Math.max(count, 1) : Math.ceil(Math.sqrt(count))));
    bays.forEach(function (bay, index) {
      seen.add(bay.bay);
      var tile = tiles.get(bay.bay);
      if (!tile) {
        tile = el('article', 'bay');
        tiles.set(bay.bay, tile);
      }
      if (grid.children[index] !== tile) grid.insertBefore(tile, grid.children[index] || null);
      renderBay(tile, bay);
    });
    tiles.forEach(function (tile, name) {
      if (!seen.has(name)) {
        tile.remove();
        tiles.delete(name);
      }
    });
  }

  function renderTotals(totals) {
    byId('passed-today').textContent = String(totals.passedToday);
    byId('failed-today').textContent = String(totals.failedToday);
    byId('yield').textContent = totals.yield === null ? '\\u2014' : (totals.yield * 100).toFixed(1) + ' %';
    byId('units-hour').textContent = String(totals.unitsLastHour);
    byId('remaining-sets').textContent = totals.remainingSets === null ? '\\u2014' : String(totals.remainingSets);
    var list = byId('failures');
    var items = totals.lastFailures.map(function (failure) {
      var item = el('li');
      item.append(el('span', 'when', clock(failure.time)), el('span', 'where', failure.bay + (failure.device ? ' ' + failure.device : '')), el('span', 'why', failure.reason));
      return item;
    });
    if (items.length === 0) items.push(el('li', 'empty', 'none today'));
    list.replaceChildren.apply(list, items);
  }

  function render(snapshot) {
    renderBays(snapshot.bays);
    renderTotals(snapshot.totals);
    byId('updated').textContent = 'updated ' + clock(new Date().toISOString());
  }

  function setLive(live, message) {
    var banner = byId('banner');
    banner.hidden = live;
    if (message) banner.textContent = message;
    var badge = byId('live');
    badge.dataset.live = String(live);
    badge.textContent = live ? 'live' : 'disconnected';
  }

  var DISCONNECTED = 'Disconnected from the station \\u2014 reconnecting\\u2026 (the tiles may be out of date)';

  function connect() {
    var source = new EventSource('events');
    source.addEventListener('open', function () { setLive(true); });
    source.addEventListener('board', function (event) {
      setLive(true);
      render(JSON.parse(event.data));
    });
    source.addEventListener('error', function () {
      setLive(false, DISCONNECTED);
      if (source.readyState !== EventSource.CLOSED) return;
      // Refused (not a dropped connection): EventSource gives up; find out why, then try again.
      fetch('board', { cache: 'no-store', credentials: 'same-origin' })
        .then(function (answer) {
          if (answer.status === 401) setLive(false, 'Disconnected: the station did not accept this browser \\u2014 open the page once more with ?token=\\u2026');
        })
        .catch(function () {})
        .finally(function () { setTimeout(connect, RETRY_MS); });
    });
  }

  render(JSON.parse(byId('board-data').textContent));
  connect();
})();
`;
