// The console's stylesheet: plain CSS, readable contrast (axe checks it), no framework.
export const CONSOLE_CSS = `
:root { --fg: #1b1f24; --muted: #4a5360; --line: #d0d7de; --bg: #fff; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1.2em; align-items: center; padding: .6em 1.2em; background: #14233a; }
header a { color: #fff; text-decoration: none; }
header a[aria-current="page"] { text-decoration: underline; font-weight: bold; }
header .brand { font-weight: bold; margin-right: 1em; }
main { padding: 1em 1.2em; max-width: 90em; }
h1 { font-size: 1.35em; margin: .2em 0 .6em; } h2 { font-size: 1.1em; margin: 1.4em 0 .5em; }
table { border-collapse: collapse; margin: .3em 0 1em; }
th, td { border-bottom: 1px solid var(--line); padding: .25em .7em; text-align: left; vertical-align: top; }
th { background: #f3f5f7; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
a { color: var(--accent); }
code, pre { font-family: ui-monospace, monospace; font-size: 12.5px; }
pre { background: #f3f5f7; padding: .6em; overflow: auto; max-height: 24em; white-space: pre-wrap; word-break: break-all; }
form.filters { display: flex; flex-wrap: wrap; gap: .8em; align-items: end; margin-bottom: .8em; }
form.filters label, form.stack label { display: flex; flex-direction: column; font-size: .9em; color: var(--muted); }
input, select, textarea, button { font: inherit; }
button { padding: .3em .9em; border: 1px solid #0b4f94; background: var(--accent); color: #fff; border-radius: 3px; cursor: pointer; }
button.danger { background: #a4161a; border-color: #7d1013; }
.actions { display: flex; gap: .6em; margin: .6em 0; }
.status { display: inline-block; padding: 0 .5em; border-radius: 3px; font-size: .9em; }
.status-success { background: #d7f0dc; } .status-error, .status-max_recovery_exceeded { background: #f8d7da; }
.status-cancelled { background: #e4e4e4; } .status-pending { background: #fff0c2; } .status-enqueued { background: #dbe9fb; }
.gantt { border: 1px solid var(--line); padding: .4em; margin: .4em 0 1em; }
.gantt-row { display: grid; grid-template-columns: 18em 1fr 6em; gap: .6em; align-items: center; min-height: 1.5em; }
.gantt-track { position: relative; height: 1em; background: #f3f5f7; }
.gantt-bar { position: absolute; top: 0; bottom: 0; min-width: 2px; background: #2f6fb3; }
.gantt-bar.error { background: #a4161a; }
.gantt-child { border-top: 1px dashed var(--line); }
.status-done { background: #d7f0dc; } .status-failed, .status-timed_out { background: #f8d7da; }
.status-running { background: #fff0c2; } .status-ready { background: #dbe9fb; } .status-waiting { background: #eef1f4; }
#dag-graph { border: 1px solid var(--line); max-width: 100%; height: auto; }
.dag-edge { fill: none; stroke: #57606a; stroke-width: 1.3; } #dag-arrow path { fill: #57606a; }
.dag-node rect { fill: #eef1f4; stroke: #57606a; } .dag-node text { font-size: 12px; fill: var(--fg); }
.dag-node .dag-node-sub { fill: var(--muted); font-size: 11px; }
.dag-node-done rect { fill: #d7f0dc; } .dag-node-failed rect { fill: #f8d7da; } .dag-node-cancelled rect { fill: #e4e4e4; }
.dag-node-running rect { fill: #fff0c2; } .dag-node-ready rect { fill: #dbe9fb; }
.muted { color: var(--muted); }
.chart { margin: .4em 0 1em; }
nav.pages { display: flex; gap: 1em; }
.crumbs a, .crumbs span { margin-right: .3em; }
`;
