/**
 * The operator page's stylesheet (served inline, allowed by its hash in the Content-Security-Policy).
 * Made to be read from a metre away: big state words, one saturated colour per state, white text.
 */
export const PAGE_STYLE = `
:root {
  color-scheme: dark;
  --bg: #101418;
  --panel: #1c232b;
  --text: #f4f6f8;
  --muted: #aab4bf;
  --waiting: #3a4a57;
  --identifying: #5e35b1;
  --provisioning: #1565c0;
  --passed: #2e7d32;
  --failed: #c62828;
  --down: #3b3b3b;
  --gap: 0.75rem;
  font-family: "DejaVu Sans", "Noto Sans", "Liberation Sans", Arial, sans-serif;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body { padding: var(--gap); display: flex; flex-direction: column; gap: var(--gap); min-height: 100vh; }
.top { display: flex; align-items: center; gap: 1.5rem; }
.top h1 { font-size: 1.6rem; margin: 0; font-weight: 600; }
.top .clock { margin-left: auto; color: var(--muted); font-size: 1.2rem; }
.live { font-size: 1.1rem; font-weight: 700; padding: 0.2rem 0.7rem; border-radius: 1rem; background: var(--passed); }
.live[data-live="false"] { background: var(--failed); }
.live[data-live="connecting"] { background: var(--waiting); }
.banner {
  background: #ffb300; color: #111; font-size: 1.6rem; font-weight: 700; padding: 0.6rem 1rem; border-radius: 0.4rem;
}
.banner[hidden] { display: none; }
.totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: var(--gap); }
.total { background: var(--panel); border-radius: 0.5rem; padding: 0.5rem 1rem; }
.total .label { color: var(--muted); font-size: 1.05rem; text-transform: uppercase; letter-spacing: 0.04em; }
.total .value { font-size: 2.4rem; font-weight: 700; line-height: 1.15; font-variant-numeric: tabular-nums; }
.total.passed .value { color: #66bb6a; }
.total.failed .value { color: #ef5350; }
.bays {
  --cols: 4;
  display: grid;
  gap: var(--gap);
  grid-template-columns: repeat(auto-fit, minmax(max(17rem, calc((100% - (var(--cols) - 1) * var(--gap)) / var(--cols))), 1fr));
  flex: 1 0 auto;
}
.bay {
  background: var(--waiting);
  border-radius: 0.6rem;
  padding: 0.8rem 1rem;
  min-height: 11rem;
  display: flex; flex-direction: column; gap: 0.35rem;
  overflow: hidden;
  border: 0.3rem solid transparent;
  /* The words scale with the tile (cqi), so PROVISIONING fits a sixteen-bay grid too. */
  container-type: inline-size;
}
.bay[data-state="identifying"] { background: var(--identifying); }
.bay[data-state="provisioning"] { background: var(--provisioning); }
.bay[data-state="passed"] { background: var(--passed); }
.bay[data-state="failed"] { background: var(--failed); border-color: #ffcdd2; }
.bay[data-state="down"] {
  background: repeating-linear-gradient(135deg, var(--down) 0 1.2rem, #333 1.2rem 2.4rem);
  color: #d0d0d0;
}
.bay-head { display: flex; align-items: baseline; gap: 0.8rem; }
.bay-name { font-size: clamp(1.3rem, 6.5cqi, 2.4rem); font-weight: 700; overflow-wrap: anywhere; }
.bay-since { margin-left: auto; font-size: 1rem; opacity: 0.8; white-space: nowrap; }
.bay-state {
  font-size: clamp(1.4rem, 9.5cqi, 4rem); font-weight: 800; line-height: 1.05;
  text-transform: uppercase; letter-spacing: 0.03em;
}
.bay-phase { font-size: 1.5rem; font-weight: 600; }
.bar { height: 1.4rem; background: rgba(0, 0, 0, 0.35); border-radius: 0.7rem; overflow: hidden; }
.bar .fill { height: 100%; width: 0; background: #e3f2fd; border-radius: 0.7rem; }
.bay-facts { display: grid; grid-template-columns: auto 1fr; gap: 0.1rem 0.8rem; margin: 0; font-size: 1.25rem; }
.bay-facts dt { opacity: 0.8; }
.bay-facts dd { margin: 0; font-family: "DejaVu Sans Mono", "Noto Sans Mono", monospace; overflow-wrap: anywhere; }
.bay-reason {
  font-size: 1.3rem; font-weight: 600; background: rgba(0, 0, 0, 0.3); padding: 0.3rem 0.5rem; border-radius: 0.3rem;
  overflow-wrap: anywhere; display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden;
}
.bay-hint { font-size: 1.15rem; opacity: 0.85; margin-top: auto; }
.failures { background: var(--panel); border-radius: 0.5rem; padding: 0.5rem 1rem; }
.failures h2 { margin: 0 0 0.3rem; font-size: 1.2rem; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.failures ol { margin: 0; padding: 0; list-style: none; font-size: 1.15rem; }
.failures li { padding: 0.15rem 0; overflow-wrap: anywhere; }
.failures .when { color: var(--muted); margin-right: 0.8rem; font-variant-numeric: tabular-nums; }
.failures .where { font-weight: 700; margin-right: 0.8rem; }
.failures .empty { color: var(--muted); }
`;
