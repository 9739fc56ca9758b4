// The console's one script: draws the overview chart with uPlot from the JSON the page
// carries, again after htmx swaps in new content.
export const CONSOLE_JS = `
(function () {
  function draw(root) {
    var els = (root || document).querySelectorAll('[data-chart]');
    els.forEach(function (el) {
      var src = document.getElementById(el.getAttribute('data-chart'));
      if (!src || typeof uPlot === 'undefined') return;
      var d = JSON.parse(src.textContent);
      el.textContent = '';
      var colors = { success: '#2e7d32', error: '#a4161a', cancelled: '#6b6b6b', pending: '#b7791f', enqueued: '#0b5cad', max_recovery_exceeded: '#6a1b9a' };
      var series = [{ label: 'time' }].concat(d.series.map(function (s) {
        return { label: s.label, stroke: colors[s.label] || '#333', width: 2 };
      }));
      new uPlot({ width: Math.min(900, el.clientWidth || 900), height: 220, series: series,
        axes: [{}, { label: 'runs per minute' }] },
        [d.x].concat(d.series.map(function (s) { return s.values; })), el);
    });
  }
  document.addEventListener('DOMContentLoaded', function () { draw(document); });
  document.addEventListener('htmx:afterSwap', function (e) { draw(e.target); });
})();
`;
