// Transportadoras: the weekly trend charts. Chart.js (vendored, static/vendor/) draws the series that the page
// carries as JSON in <script type="application/json" id="carrier-trends">; no inline script (the CSP allows
// same-origin files only).
(function () {
  "use strict";
  var source = document.getElementById("carrier-trends");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var palette = ["#0b6e4f", "#3538cd", "#b54708", "#c11574", "#475467", "#0086c9", "#7a5af8"];

  function draw(id, key, title, options) {
    var canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    var datasets = data.series.map(function (s, i) {
      var colour = palette[i % palette.length];
      return { label: s.name, data: s[key], borderColor: colour, backgroundColor: colour, tension: 0.2, pointRadius: 3,
        spanGaps: true };  // a week with no shipment: the line goes on to the next week that has some
    });
    new Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: "pt-BR",
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { title: { display: true, text: data.titles.week } },
          y: Object.assign({ title: { display: true, text: title } }, options)
        }
      }
    });
  }

  draw("chart-incidents", "incidents_per_100", data.titles.incidents, { beginAtZero: true });
  draw("chart-on-time", "on_time_pct", data.titles.on_time, { suggestedMax: 100 });
})();
