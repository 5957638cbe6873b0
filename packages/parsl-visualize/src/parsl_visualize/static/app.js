// Draws every [data-chart] element with the ECharts option embedded next to it. A live
// update swaps in fresh content: the charts already on the page are kept and given the
// new option (merged, so zoom, legend selection and tooltips survive, and nothing is
// redrawn from blank); only charts new to the page are created. Clicking a data item
// that carries a `url` opens it: DAG nodes, Gantt bars. Elements with data-since-epoch
// show a time that keeps counting (elapsed, "N s ago") between updates.
(function () {
  "use strict";

  var kept = {};  // chart element id -> the element, taken out during a swap

  function optionFor(id, root) {
    var source = (root || document).querySelector('script[data-option-for="' + id + '"]');
    return source ? JSON.parse(source.textContent) : null;
  }

  function draw(root) {
    if (typeof echarts === "undefined") { return; }  // a page without charts does not load ECharts
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var option = optionFor(el.id);
      if (!option) { return; }
      var chart = echarts.getInstanceByDom(el);
      if (chart) {
        chart.setOption(option, { replaceMerge: ["series"] });  // keeps dataZoom and legend state
      } else {
        chart = echarts.init(el, null, { renderer: "canvas" });
        chart.setOption(option);
        chart.on("click", function (params) {
          if (params.data && params.data.url) { window.location.href = params.data.url; }
        });
      }
      el.dataset.drawn = "true";
    });
  }

  function keepCharts(target) {
    // Take the drawn chart elements out before htmx replaces their parent.
    target.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) { kept[el.id] = el; el.remove(); }
    });
  }

  function restoreCharts(root) {
    // Put each kept chart where its fresh placeholder is, then give it the fresh option.
    root.querySelectorAll("[data-chart]").forEach(function (placeholder) {
      var old = kept[placeholder.id];
      if (old) {
        old.style.height = placeholder.style.height;
        placeholder.replaceWith(old);
      }
    });
    Object.keys(kept).forEach(function (id) {
      var el = kept[id];
      if (!document.body.contains(el) && typeof echarts !== "undefined") {
        var chart = echarts.getInstanceByDom(el);
        if (chart) { chart.dispose(); }
      }
    });
    kept = {};
  }

  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-since-epoch]").forEach(function (el) {
      var seconds = Math.max(0, now - parseFloat(el.dataset.sinceEpoch));
      el.textContent = format(seconds) + (el.dataset.suffix || "");
    });
  }

  function format(seconds) {
    if (seconds < 60) { return Math.floor(seconds) + " s"; }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) { return minutes + " min " + String(Math.floor(seconds % 60)).padStart(2, "0") + " s"; }
    return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.shouldSwap) { keepCharts(event.detail.target); }
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      restoreCharts(document);
    });
    htmx.onLoad(function (root) { draw(root); tick(); });
    window.addEventListener("resize", function () {
      if (typeof echarts === "undefined") { return; }
      document.querySelectorAll("[data-chart]").forEach(function (el) {
        var chart = echarts.getInstanceByDom(el);
        if (chart) { chart.resize(); }
      });
    });
    window.setInterval(tick, 1000);
  });
})();
