// The report page's behaviour: draws every chart from the specs and tables inlined in the page
// (vega-embed, SVG renderer), sorts the leaderboard on a header click, opens a trial's detail on
// a row click, and recolours the learning curves by the parameter the reader picks. It reads
// nothing but this page: the report works offline, from disk.
(function () {
  'use strict';
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var EMBED = { actions: false, renderer: 'svg', tooltip: { theme: 'light' } };

  function clone(x) { return JSON.parse(JSON.stringify(x)); }
  function place(row) { return Number(row.getAttribute('data-place')); }

  function draw(el, spec, tables) {
    var full = clone(spec);
    var text = JSON.stringify(spec);
    var used = {};
    Object.keys(tables).forEach(function (name) {
      if (text.indexOf('{"name":"' + name + '"}') >= 0) used[name] = tables[name];
    });
    if (Object.keys(used).length) full.datasets = used;
    return vegaEmbed(el, full, EMBED).then(function (result) {
      el.setAttribute('data-drawn', 'true');
      return result;
    }).catch(function (err) {
      el.setAttribute('data-drawn', 'error');
      el.textContent = 'could not draw this chart: ' + err.message;
      console.error(err);
    });
  }

  report.sweeps.forEach(function (sweep, s) {
    var section = document.querySelector('section.sweep[data-sweep="' + s + '"]');
    var drawn = [];
    section.querySelectorAll('.chart[data-chart]').forEach(function (el) {
      var spec = sweep.charts[el.getAttribute('data-chart')];
      if (spec) drawn.push(draw(el, spec, sweep.datasets));
    });

    // Colour the learning curves by another parameter.
    var select = section.querySelector('select.color-by');
    if (select) {
      select.addEventListener('change', function () {
        section.querySelectorAll('.chart[data-chart^="curves-"]').forEach(function (el) {
          var spec = clone(sweep.charts[el.getAttribute('data-chart')]);
          // Every layer coloured by a parameter (the lines, the dots of one-epoch trials), keeping its legend's placement.
          spec.layer.forEach(function (layer) {
            var color = layer.encoding && layer.encoding.color;
            if (!color || !color.field) return;
            var chosen = sweep.colorEncodings[select.value];
            var legend = Object.assign({}, chosen.legend || {}, color.legend ? { orient: color.legend.orient, direction: color.legend.direction } : {});
            layer.encoding.color = Object.assign({}, chosen, { legend: legend });
          });
          el.setAttribute('data-drawn', 'false');
          draw(el, spec, sweep.datasets);
        });
      });
    }

    // Sort the leaderboard by a column; a trial's detail row travels with it.
    var table = section.querySelector('table.leaderboard');
    table.querySelectorAll('th[data-key]').forEach(function (th, column) {
      th.addEventListener('click', function () {
        var descending = th.getAttribute('aria-sort') === 'ascending';
        table.querySelectorAll('th[data-key]').forEach(function (other) { other.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
        var numeric = th.getAttribute('data-type') === 'number';
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.querySelectorAll('tr.trial'));
        rows.sort(function (a, b) {
          var x = a.cells[column].getAttribute('data-value');
          var y = b.cells[column].getAttribute('data-value');
          // Missing values last, whichever the direction.
          if (x === '' || y === '') return (x === '' ? 1 : 0) - (y === '' ? 1 : 0) || place(a) - place(b);
          var order = numeric ? Number(x) - Number(y) : x.localeCompare(y, undefined, { numeric: true });
          // Ties keep the leaderboard's order.
          return (descending ? -order : order) || place(a) - place(b);
        });
        rows.forEach(function (row) {
          var detail = row.nextElementSibling;
          body.appendChild(row);
          if (detail && detail.classList.contains('detail')) body.appendChild(detail);
        });
      });
    });
    table.querySelectorAll('tr.trial').forEach(function (row) {
      row.addEventListener('click', function () {
        var detail = row.nextElementSibling;
        var open = detail.hidden;
        detail.hidden = !open;
        row.setAttribute('aria-expanded', String(open));
        var el = detail.querySelector('.chart[data-trial]');
        if (open && el && !el.hasAttribute('data-drawn')) {
          var spec = JSON.parse(JSON.stringify(sweep.trialTemplate).split('__TRIAL__').join(el.getAttribute('data-trial')));
          draw(el, spec, sweep.datasets);
        }
      });
    });

    Promise.all(drawn).then(function () { section.setAttribute('data-ready', 'true'); });
  });
})();
