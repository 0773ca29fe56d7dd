// Draws every <canvas data-chart="kind" data-source="id"> of a page with Chart.js, from the
// JSON that the page carries in <script type="application/json" id="..."> (json_script):
// no inline script, so the Content Security Policy stays strict.
(function () {
  "use strict";
  var palette = ["#2f6fb0", "#e08a2e", "#3a9d5d", "#c7433b", "#7b5ea7", "#8c8c8c"];
  var severity = { low: "#8fb4d9", medium: "#e0a23a", high: "#c7433b" };

  function data(canvas) {
    var node = document.getElementById(canvas.dataset.source);
    return node ? JSON.parse(node.textContent) : null;
  }

  var builders = {
    tiers: function (d) {
      return { type: "bar", data: { labels: d.tiers.labels, datasets: [{ label: canvas_label(d, "tiers"), data: d.tiers.values, backgroundColor: palette[0] }] },
        options: { plugins: { legend: { display: false } } } };
    },
    distribution: function (d) {
      var sets = [{ label: d.distribution.live_label, data: d.distribution.live, backgroundColor: palette[0] }];
      if (d.distribution.reference) {
        sets.push({ label: d.distribution.reference_label, data: d.distribution.reference, type: "line", borderColor: palette[1], backgroundColor: palette[1], pointRadius: 2 });
      }
      return { type: "bar", data: { labels: d.distribution.labels, datasets: sets } };
    },
    classification: function (d) {
      return { type: "doughnut", data: { labels: d.classification.labels, datasets: [{ data: d.classification.values, backgroundColor: palette }] },
        options: { plugins: { legend: { position: "right" } } } };
    },
    buckets: function (d) {
      return { type: "bar", data: { labels: d.buckets.labels, datasets: [{ data: d.buckets.values, backgroundColor: ["#3a9d5d", "#e0a23a", "#e08a2e", "#c7433b", "#8b1e1e"] }] },
        options: { plugins: { legend: { display: false } } } };
    },
    alerts: function (d) {
      return { type: "bar", data: { labels: d.alerts.labels, datasets: d.alerts.series.map(function (s) {
        return { label: s.label, data: s.values, backgroundColor: severity[s.severity] || palette[5] };
      }) }, options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } };
    },
    // Trends from the nightly snapshots: one line per series over the dates.
    exposure_trend: function (d) { return trend(d.exposure_trend, false); },
    delinquency_trend: function (d) { return trend(d.delinquency_trend, false); },
    five_category_trend: function (d) { return trend(d.five_category_trend, true); },
    history: function (d) {
      return { type: "line", data: { labels: d.points.map(function (p) { return p.as_of; }),
        datasets: [{ data: d.points.map(function (p) { return p.score; }), borderColor: palette[0], backgroundColor: palette[0], pointRadius: 1, tension: 0.2 }] },
        options: { plugins: { legend: { display: false } }, scales: { y: { suggestedMin: 300, suggestedMax: 950 } } } };
    }
  };

  function trend(t, stacked) {
    var colours = stacked ? ["#3a9d5d", "#e0a23a", "#e08a2e", "#c7433b", "#8b1e1e"] : palette;
    return { type: "line", data: { labels: t.labels, datasets: t.series.map(function (s, i) {
      return { label: s.label, data: s.values, borderColor: colours[i % colours.length], backgroundColor: colours[i % colours.length],
        pointRadius: t.labels.length > 1 ? 0 : 3, tension: 0.2, fill: stacked ? (i ? "-1" : "origin") : false };
    }) }, options: { interaction: { mode: "index", intersect: false },
      scales: { y: { stacked: stacked, beginAtZero: true, suggestedMax: stacked ? 100 : undefined } } } };
  }

  function canvas_label(d, key) { return (d.labels && d.labels[key]) || ""; }

  function draw() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var d = data(canvas), build = builders[canvas.dataset.chart];
      if (!d || !build) { return; }
      var config = build(d);
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
      new Chart(canvas, config);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
