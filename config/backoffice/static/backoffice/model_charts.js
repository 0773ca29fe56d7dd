// The score model page's charts (data-chart="model-..."), drawn with the vendored Chart.js
// from the JSON the page carries in <script type="application/json" id="model-data">
// (json_script): no inline script, so the Content Security Policy stays strict.  charts.js
// draws the other kinds and skips these.
(function () {
  "use strict";
  var blue = "#2f6fb0", orange = "#e08a2e", amber = "#e0a23a", red = "#c7433b", green = "#3a9d5d";

  function data(canvas) {
    var node = document.getElementById(canvas.dataset.source);
    return node ? JSON.parse(node.textContent) : null;
  }

  function flat(value, n) { var out = []; for (var i = 0; i < n; i++) { out.push(value); } return out; }

  var builders = {
    "model-distribution": function (d) {
      var x = d.distribution, sets = [{ label: x.live_label, data: x.live, backgroundColor: blue }];
      if (x.reference) {
        sets.push({ label: x.reference_label, data: x.reference, type: "line", borderColor: orange, backgroundColor: orange, pointRadius: 2 });
      }
      return { type: "bar", data: { labels: x.labels, datasets: sets } };
    },
    "model-psi": function (d) {
      var x = d.psi, n = x.labels.length;
      return { type: "line", data: { labels: x.labels, datasets: [
        { label: x.psi_label, data: x.psi, borderColor: blue, backgroundColor: blue, pointRadius: 2, spanGaps: true },
        { label: x.warn_label, data: flat(x.warn, n), borderColor: amber, borderDash: [6, 4], pointRadius: 0 },
        { label: x.alert_label, data: flat(x.alert, n), borderColor: red, borderDash: [6, 4], pointRadius: 0 }
      ] }, options: { scales: { y: { beginAtZero: true, suggestedMax: 0.3 } } } };
    },
    "model-power": function (d) {
      var x = d.power;
      return { type: "line", data: { labels: x.labels, datasets: [
        { label: x.auc_label, data: x.auc, borderColor: blue, backgroundColor: blue, pointRadius: 2, spanGaps: true },
        { label: x.ks_label, data: x.ks, borderColor: green, backgroundColor: green, pointRadius: 2, spanGaps: true }
      ] }, options: { scales: { y: { suggestedMin: 0, suggestedMax: 1 } } } };
    },
    "model-calibration": function (d) {
      var x = d.calibration;
      return { type: "bar", data: { labels: x.labels, datasets: [
        { label: x.bad_rate_label, data: x.bad_rate, backgroundColor: red },
        { label: x.pd_label, data: x.pd, backgroundColor: blue }
      ] }, options: { scales: { y: { beginAtZero: true } } } };
    }
  };

  function draw() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart^='model-']").forEach(function (canvas) {
      var d = data(canvas), build = builders[canvas.dataset.chart];
      if (!d || !build) { return; }
      var config = build(d);
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
      new Chart(canvas, config);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
