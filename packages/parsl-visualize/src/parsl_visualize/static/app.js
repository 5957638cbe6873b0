// Draws every [data-chart] element with the ECharts option embedded next to it, and
// redraws after htmx swaps in fresh content (live updates). Clicking a data item that
// carries a `url` opens it: DAG nodes, Gantt bars.
(function () {
  "use strict";

  function draw(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.querySelector('script[data-option-for="' + el.id + '"]');
      if (!source) { return; }
      var option = JSON.parse(source.textContent);
      var chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option, true);
      chart.off("click");
      chart.on("click", function (params) {
        if (params.data && params.data.url) { window.location.href = params.data.url; }
      });
      el.dataset.drawn = "true";
    });
  }

  function dispose(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = echarts.getInstanceByDom(el);
      if (chart) { chart.dispose(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    htmx.onLoad(draw);
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.shouldSwap) { dispose(event.detail.target); }
    });
    window.addEventListener("resize", function () {
      document.querySelectorAll("[data-chart]").forEach(function (el) {
        var chart = echarts.getInstanceByDom(el);
        if (chart) { chart.resize(); }
      });
    });
  });
})();
