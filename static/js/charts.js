// Draws the charts of a page from the JSON in <script id="chart-data">. Each chart only
// renders when its canvas is on the page.
(function () {
  const source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const BAND_COLORS = { healthy: "#2e9d5b", risk: "#e0a100", critical: "#c0392b" };
  const canvas = (id) => document.getElementById(id);

  function line(id, labels, values, label, extra) {
    if (!canvas(id)) return;
    new Chart(canvas(id), {
      type: "line",
      data: { labels, datasets: [{ label, data: values, borderColor: "#3552d6", tension: 0.25 }, ...(extra || [])] },
      options: { plugins: { legend: { display: !!extra } }, scales: { y: { beginAtZero: false } } },
    });
  }

  if (canvas("distribution")) {
    new Chart(canvas("distribution"), {
      type: "doughnut",
      data: { labels: data.bands, datasets: [{ data: data.distribution,
        backgroundColor: [BAND_COLORS.healthy, BAND_COLORS.risk, BAND_COLORS.critical] }] },
    });
  }
  line("trend", data.trend_labels, data.trend_scores, "Average health");
  line("forecast", data.forecast_labels, data.forecast, "Expected ARR");
  line("history", data.history_labels, data.history_scores, "Health score");

  if (canvas("contributions")) {
    new Chart(canvas("contributions"), {
      type: "bar",
      data: { labels: data.contribution_labels, datasets: [{ label: "Points", data: data.contributions,
        backgroundColor: data.contribution_bands.map((band) => BAND_COLORS[band]) }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } } },
    });
  }

  // Report cards (Settings → Health): one colour per card, in the order of the table's columns.
  const CARD_COLORS = ["#3552d6", "#8a94a6", "#2e9d5b"];
  if (canvas("band-churn")) {
    new Chart(canvas("band-churn"), {
      type: "bar",
      data: { labels: data.bands, datasets: data.band_churn.map((card, i) => ({ label: card.label,
        data: card.rates.map((rate) => (rate === null ? null : 100 * rate)), backgroundColor: CARD_COLORS[i] })) },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: "% churned" } } } },
    });
  }
  if (canvas("reliability")) {
    const diagonal = { label: "perfectly calibrated", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], type: "line",
      borderColor: "#c8ccd4", borderDash: [6, 4], pointRadius: 0 };
    new Chart(canvas("reliability"), {
      type: "scatter",
      data: { datasets: [diagonal, ...data.reliability.map((card, i) => ({ label: card.label, data: card.points,
        borderColor: CARD_COLORS[i], backgroundColor: CARD_COLORS[i], showLine: true }))] },
      options: { scales: { x: { min: 0, max: 1, title: { display: true, text: "predicted renewal probability" } },
        y: { min: 0, max: 1, title: { display: true, text: "observed renewal rate" } } } },
    });
  }

  // A playbook's effect: mean health change of the accounts that ran it and of their comparison
  // group, with the 95% interval of where the ran line lies given the comparison (shaded).
  if (canvas("effect") && data.effect) {
    const e = data.effect;
    const quiet = { borderColor: "transparent", pointRadius: 0 };
    new Chart(canvas("effect"), {
      type: "line",
      data: { labels: e.labels.map((days) => days + " days"), datasets: [
        { ...quiet, label: "95% interval", data: e.high, backgroundColor: "rgba(53, 82, 214, 0.15)", fill: "+1" },
        { ...quiet, label: "", data: e.low, fill: false },
        { label: "Ran it", data: e.ran, borderColor: "#3552d6", backgroundColor: "#3552d6" },
        { label: e.comparison_label, data: e.comparison, borderColor: "#8a94a6", backgroundColor: "#8a94a6",
          borderDash: [6, 4] },
      ] },
      options: { spanGaps: true, plugins: { legend: { labels: { filter: (item) => item.text !== "" } } },
        scales: { y: { title: { display: true, text: "health change since the start (points)" } } } },
    });
  }

  (data.kpis || []).forEach((kpi) => {
    const flat = (value, label, color) => ({ label, data: kpi.labels.map(() => value), borderColor: color,
      borderDash: [6, 4], pointRadius: 0, fill: false });
    line("kpi-" + kpi.key, kpi.labels, kpi.values, kpi.name,
      [flat(kpi.healthy, "healthy from", BAND_COLORS.healthy), flat(kpi.critical, "critical past", BAND_COLORS.critical)]);
  });
})();
