// The /docs page: renders /openapi.json in the browser with a few lines of script, so it works
// offline and loads nothing from a CDN.
export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>TableOS HTTP API</title>
<style>
body { font: 14px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
.op { border: 1px solid #ddd; border-radius: 4px; margin: .6em 0; padding: .4em .8em; }
.m { display: inline-block; min-width: 4.5em; font-weight: bold; }
.GET { color: #1565c0; } .POST { color: #2e7d32; } .PUT { color: #ef6c00; } .DELETE { color: #c62828; }
pre { background: #f6f8fa; padding: .6em; overflow: auto; font-size: 12px; }
details summary { cursor: pointer; }
</style>
</head>
<body>
<h1 id="title">TableOS HTTP API</h1>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Runs: <code>GET /runs/{id}?wait=5s</code>.
Send <code>Idempotency-Key</code> to make a request safe to retry and <code>Prefer: respond-async</code> to get 202 and a <code>Location</code>.</p>
<div id="ops">loading /openapi.json ...</div>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
fetch('/openapi.json').then((r) => r.json()).then((doc) => {
  document.getElementById('title').textContent = (doc.info && doc.info.title) || 'TableOS HTTP API';
  const out = [];
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const m = method.toUpperCase();
      const parts = [];
      if (op.parameters && op.parameters.length) parts.push('<b>parameters</b><pre>' + esc(JSON.stringify(op.parameters, null, 2)) + '</pre>');
      if (op.requestBody) parts.push('<b>body</b><pre>' + esc(JSON.stringify(op.requestBody, null, 2)) + '</pre>');
      if (op.responses) parts.push('<b>responses</b><pre>' + esc(JSON.stringify(op.responses, null, 2)) + '</pre>');
      out.push('<div class="op"><details><summary><span class="m ' + m + '">' + m + '</span> <code>' + esc(path) + '</code> ' + esc(op.summary || '') + '</summary>' + parts.join('') + '</details></div>');
    }
  }
  document.getElementById('ops').innerHTML = out.join('') || 'no routes';
}).catch((e) => { document.getElementById('ops').textContent = 'cannot load /openapi.json: ' + e; });
</script>
</body>
</html>
`;
