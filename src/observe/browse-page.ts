import { escapeHtml } from '../html.js'

/*
 * The server browser's page: a shell that web/browse.js fills. It lists a network's servers
 * from `/v1/servers` and checks every record's Ed25519 signature in the browser (WebCrypto
 * where the browser has Ed25519, tweetnacl otherwise) under the strict rule of
 * docs/protocol.md §7, with the byte checks of bootpage/verify.js, which it loads. The tracker
 * serves it at `/browse`; `scripts/build-browse-page.ts` writes it as static files beside a
 * bootpage, where it reads bootpage.json and asks the trackers listed there, one after another.
 * Asset paths are relative so that both layouts work.
 */

export interface BrowseConfig {
  /** Tracker base URLs to ask, in order ('' = the page's own origin). */
  trackers: readonly string[]
  /** A bootpage.json to read (relative to the page), or '' for none. */
  bootpage: string
  /**
   * A static copy has no tracker to send headers: its policy goes in a meta element, and it
   * may connect to the trackers the bootpage names (any http(s) origin).
   */
  static?: boolean
}

/** The policy of a static copy (the served page gets PAGE_CSP as a header). */
export const STATIC_BROWSE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' http: https:",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

export function renderBrowsePage(c: BrowseConfig): string {
  const meta =
    c.static === true
      ? `\n<meta http-equiv="Content-Security-Policy" content="${escapeHtml(STATIC_BROWSE_CSP)}">`
      : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">${meta}
<title>metatracker: server browser</title>
<link rel="stylesheet" href="assets/web.css">
<link rel="icon" href="data:,">
<script src="assets/nacl.js" defer></script>
<script src="assets/verify.js" defer></script>
<script src="assets/record.js" defer></script>
<script src="assets/browse.js" defer></script>
</head>
<body data-trackers="${escapeHtml(JSON.stringify(c.trackers))}" data-bootpage="${escapeHtml(c.bootpage)}">
<main>
<header>
<h1>Server browser</h1>
<p class="muted">Every server below is a record signed by the server's own key. Your browser checks each signature itself; the tracker cannot forge or alter one. "Proven" means the tracker checked that the server answers at the address it announced.</p>
</header>
<p id="bootpage-status" class="status pending" hidden></p>
<div class="controls">
<label>Network <select id="network"><option value="">loading…</option></select></label>
<label>Filter <input id="filter" type="search" placeholder="name, world, tag" autocomplete="off"></label>
<label><input id="proven-only" type="checkbox"> proven only</label>
</div>
<p id="browse-status" class="status pending" role="status">Loading…</p>
<div class="scroll"><table id="browse">
<thead><tr><th scope="col">signature</th><th scope="col">name</th><th scope="col">players</th><th scope="col">world</th><th scope="col">version</th><th scope="col">tags</th><th scope="col">reachable</th><th scope="col">connect</th></tr></thead>
<tbody></tbody>
</table></div>
<noscript><p class="status bad">The server browser checks signatures with JavaScript; without it nothing is shown. The raw list is <code>/v1/servers?network=NAME</code>.</p></noscript>
</main>
<footer>metatracker server browser. Records are checked in your browser; nothing is sent anywhere but to the trackers.</footer>
</body>
</html>
`
}

/** The files under `assets/` the browser page loads (web-pages.ts serves the same names). */
export const BROWSE_ASSETS: readonly string[] = [
  'web.css',
  'nacl.js',
  'verify.js',
  'record.js',
  'browse.js',
]

/**
 * The server browser as static files, to put beside a bootpage: `browse.html` reading
 * `bootpage` (default bootpage.json next to it) and asking the trackers it lists, plus its
 * assets. Relative path → content; `assets` as loadWebAssets() reads them.
 */
export function browseSiteFiles(
  assets: ReadonlyMap<string, string>,
  options: { bootpage?: string; trackers?: readonly string[] } = {},
): Map<string, string> {
  const out = new Map<string, string>()
  out.set(
    'browse.html',
    renderBrowsePage({
      trackers: options.trackers ?? [],
      bootpage: options.bootpage ?? 'bootpage.json',
      static: true,
    }),
  )
  for (const name of BROWSE_ASSETS) {
    const body = assets.get(name)
    if (body === undefined) throw new Error(`asset ${name} is missing`)
    out.set(`assets/${name}`, body)
  }
  return out
}
