// The report page's behaviour: draws every chart from the specs and tables inlined in the page
// (vega-embed, SVG renderer), sorts the leaderboard on a header click, opens a trial's detail on
// a row click, and recolours the learning curves by the parameter the reader picks. It reads
// nothing but this page: the report works offline, from disk.
//
// Each sweep's section is run by a controller (window.lenetReport.sections), which a page that
// `sweep serve` sends also updates while the sweep runs (live.js): new rows into the charts'
// tables, changed leaderboard rows, a chart drawn again, all in place, keeping the reader's sort,
// colour and open details.
(function () {
  'use strict';
  var EMBED = { actions: false, renderer: 'svg', tooltip: { theme: 'light' } };
  var TABLES = ['epochs', 'trials'];

  function clone(x) { return JSON.parse(JSON.stringify(x)); }
  function copies(rows) { return rows.map(function (row) { return Object.assign({}, row); }); }
  function place(row) { return Number(row.getAttribute('data-place')); }
  function uses(spec, table) { return JSON.stringify(spec).indexOf('{"name":"' + table + '"}') >= 0; }
  // The tables a spec carries in itself (`data: {values}`: a chart's own rows, as the parallel
  // coordinates' lines), in the spec's order.
  function inlineData(spec) {
    var found = [];
    (function walk(x) {
      if (Array.isArray(x)) return x.forEach(walk);
      if (!x || typeof x !== 'object') return;
      Object.keys(x).forEach(function (key) {
        if (key === 'data' && x.data && Array.isArray(x.data.values)) found.push(x.data);
        walk(x[key]);
      });
    })(spec);
    return found;
  }
  // The trials whose rows differ between two versions of a chart's own rows (a trial's line in the
  // parallel coordinates): those alone are replaced. null where rows are not a trial's each.
  function differingTrials(before, after) {
    function byTrial(rows) {
      var by = {};
      for (var i = 0; i < rows.length; i++) {
        if (rows[i].trial === undefined) return null;
        by[rows[i].trial] = (by[rows[i].trial] || '') + JSON.stringify(rows[i]);
      }
      return by;
    }
    var a = byTrial(before);
    var b = byTrial(after);
    if (!a || !b) return null;
    var differ = {};
    Object.keys(a).concat(Object.keys(b)).forEach(function (id) { if (a[id] !== b[id]) differ[id] = true; });
    return differ;
  }
  // The spec without its own rows: two specs that differ only in those draw the same chart of other rows.
  function withoutRows(spec) {
    var bare = clone(spec);
    inlineData(bare).forEach(function (data) { data.values = []; });
    return JSON.stringify(bare);
  }

  // Each chart gets its own copy of the tables it reads: Vega writes what it computes (a curve's
  // value) into the rows it draws, and one chart's rows must not carry another's.
  function draw(el, spec, tables) {
    var full = clone(spec);
    // Named, so that a live page can give the chart other rows without drawing it again.
    inlineData(full).forEach(function (data, i) { data.name = 'inline_' + i; });
    var used = {};
    TABLES.forEach(function (name) { if (uses(spec, name)) used[name] = copies(tables[name]); });
    if (Object.keys(used).length) full.datasets = used;
    return vegaEmbed(el, full, EMBED).then(function (result) {
      el.setAttribute('data-drawn', 'true');
      return result.view;
    }).catch(function (err) {
      el.setAttribute('data-drawn', 'error');
      el.textContent = 'could not draw this chart: ' + err.message;
      console.error(err);
      return null;
    });
  }

  function initSection(section, sweep) {
    var views = {};
    var select = section.querySelector('select.color-by');
    var table = section.querySelector('table.leaderboard');
    var body = table.tBodies[0];
    var headers = Array.prototype.slice.call(table.querySelectorAll('th[data-key]'));

    // A chart's spec as the reader has it: the learning curves coloured by the chosen parameter.
    function specOf(name) {
      var spec = clone(sweep.charts[name]);
      if (!select || name.indexOf('curves-') !== 0) return spec;
      var chosen = sweep.colorEncodings[select.value];
      // Every layer coloured by a parameter (the lines, the dots of one-epoch trials), keeping its legend's placement.
      spec.layer.forEach(function (layer) {
        var color = layer.encoding && layer.encoding.color;
        if (!color || !color.field) return;
        var legend = Object.assign({}, chosen.legend || {}, color.legend ? { orient: color.legend.orient, direction: color.legend.direction } : {});
        layer.encoding.color = Object.assign({}, chosen, { legend: legend });
      });
      return spec;
    }

    // Which charts are on screen (or nearly): a live update patches those, and marks the others
    // stale, to be drawn again when they come into view. A page of 1,000 trials has a dozen charts
    // of thousands of marks each; a reader looks at one or two at a time.
    var onScreen = {};
    var stale = {};
    var seen = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        var name = entry.target.getAttribute('data-chart');
        onScreen[name] = entry.isIntersecting;
        if (entry.isIntersecting && stale[name] && views[name]) {
          stale[name] = false;
          drawChart(entry.target);
        }
      });
    }, { rootMargin: '200px' });

    // Draws a chart into a new element that takes the old one's place once drawn: no blank frame.
    function drawChart(el) {
      var name = el.getAttribute('data-chart');
      if (!el.hasAttribute('data-drawn')) {
        seen.observe(el);
        return draw(el, specOf(name), sweep.datasets).then(function (view) { views[name] = view; });
      }
      var fresh = el.cloneNode(false);
      fresh.removeAttribute('data-drawn');
      return draw(fresh, specOf(name), sweep.datasets).then(function (view) {
        if (views[name]) views[name].finalize();
        views[name] = view;
        if (!el.parentNode) return;
        el.replaceWith(fresh);
        seen.unobserve(el);
        seen.observe(fresh);
      });
    }

    function chartElement(name) {
      return Array.prototype.filter.call(section.querySelectorAll('.chart[data-chart]'), function (el) { return el.getAttribute('data-chart') === name; })[0] || null;
    }

    if (select) {
      select.addEventListener('change', function () {
        section.querySelectorAll('.chart[data-chart^="curves-"]').forEach(drawChart);
      });
    }

    // The leaderboard in the order the reader chose (a header's aria-sort), else the ranked order.
    function resort() {
      var th = headers.filter(function (h) { return h.hasAttribute('aria-sort'); })[0];
      var column = headers.indexOf(th);
      var descending = th && th.getAttribute('aria-sort') === 'descending';
      var numeric = th && th.getAttribute('data-type') === 'number';
      var rows = Array.prototype.slice.call(body.querySelectorAll('tr.trial'));
      rows.sort(function (a, b) {
        if (!th) return place(a) - place(b);
        var x = a.cells[column].getAttribute('data-value');
        var y = b.cells[column].getAttribute('data-value');
        // Missing values last, whichever the direction.
        if (x === '' || y === '') return (x === '' ? 1 : 0) - (y === '' ? 1 : 0) || place(a) - place(b);
        var order = numeric ? Number(x) - Number(y) : x.localeCompare(y, undefined, { numeric: true });
        // Ties keep the leaderboard's order.
        return (descending ? -order : order) || place(a) - place(b);
      });
      // Already in that order (a live update that moved no row): nothing to lay out again.
      var shown = body.querySelectorAll('tr.trial');
      if (rows.every(function (row, i) { return shown[i] === row; })) return;
      // A trial's detail row travels with it.
      rows.forEach(function (row) {
        var detail = row.nextElementSibling;
        body.appendChild(row);
        if (detail && detail.classList.contains('detail')) body.appendChild(detail);
      });
    }

    // Sort the leaderboard by a column: ascending first, then the other way.
    headers.forEach(function (th) {
      th.addEventListener('click', function () {
        var descending = th.getAttribute('aria-sort') === 'ascending';
        headers.forEach(function (other) { other.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
        resort();
      });
    });

    // Opens or closes a trial's detail; its curves are drawn when first opened.
    function toggle(row, open) {
      var detail = row.nextElementSibling;
      detail.hidden = !open;
      row.setAttribute('aria-expanded', String(open));
      var el = detail.querySelector('.chart[data-trial]');
      if (open && el && !el.hasAttribute('data-drawn')) {
        var spec = JSON.parse(JSON.stringify(sweep.trialTemplate).split('__TRIAL__').join(el.getAttribute('data-trial')));
        draw(el, spec, sweep.datasets);
      }
    }
    // One listener for every row, those a live page adds later included.
    body.addEventListener('click', function (event) {
      var row = event.target.closest('tr.trial');
      if (row && body.contains(row)) toggle(row, row.getAttribute('aria-expanded') !== 'true');
    });

    // One chart at a time, each in a task of its own, those on screen first: the page shows its
    // text and answers the reader at once, between charts (a chart of 10,000 epochs takes a third
    // of a second to draw), instead of after all of them.
    var pending = Array.prototype.filter.call(section.querySelectorAll('.chart[data-chart]'), function (el) { return sweep.charts[el.getAttribute('data-chart')]; });
    var ready = new Promise(function (resolve) {
      setTimeout(function () {
        var shown = pending.filter(function (el) { var box = el.getBoundingClientRect(); return box.bottom > 0 && box.top < innerHeight; });
        var queue = shown.concat(pending.filter(function (el) { return shown.indexOf(el) < 0; }));
        (function next() {
          if (!queue.length) return resolve();
          drawChart(queue.shift()).then(function () { setTimeout(next, 0); });
        })();
      }, 0);
    }).then(function () { section.setAttribute('data-ready', 'true'); });

    return {
      section: section,
      sweep: sweep,
      ready: ready,
      toggle: toggle,
      resort: resort,
      // What the reader made of the section: to keep when a live page takes it again whole.
      state: function () {
        var th = headers.filter(function (h) { return h.hasAttribute('aria-sort'); })[0];
        return {
          color: select ? select.value : null,
          sort: th ? { key: th.getAttribute('data-key'), order: th.getAttribute('aria-sort') } : null,
          open: Array.prototype.map.call(body.querySelectorAll('tr.trial[aria-expanded="true"]'), function (row) { return row.getAttribute('data-trial'); }),
        };
      },
      restore: function (state) {
        var th = state.sort && headers.filter(function (h) { return h.getAttribute('data-key') === state.sort.key; })[0];
        if (th) th.setAttribute('aria-sort', state.sort.order);
        resort();
        state.open.forEach(function (id) {
          var row = body.querySelector('tr.trial[data-trial="' + id + '"]');
          if (row) toggle(row, true);
        });
      },
      // The changed trials' rows of the tables: each chart whose spec is unchanged takes them in
      // place (its view's data changed, no new embed); a chart whose spec changed is drawn again.
      patch: function (trials, tables, charts) {
        var changed = {};
        trials.forEach(function (id) { changed[id] = true; });
        function kept(row) { return !changed[row.trial]; }
        TABLES.forEach(function (name) { sweep.datasets[name] = sweep.datasets[name].filter(kept).concat(tables[name]); });
        // One chart at a time, each in a task of its own: the page answers the reader between them.
        var names = Object.keys(charts).filter(function (name) { return chartElement(name); });
        return new Promise(function (resolve) {
          (function next() {
            var name = names.shift();
            if (name === undefined) return resolve();
            var spec = charts[name];
            var before = sweep.charts[name];
            sweep.charts[name] = spec;
            var done;
            if (views[name] && !onScreen[name]) {
              stale[name] = true;
              return next();
            }
            // A chart that missed earlier changes (it was off screen) is drawn again whole.
            if (!views[name] || stale[name] || withoutRows(spec) !== withoutRows(before)) {
              stale[name] = false;
              done = drawChart(chartElement(name));
            } else {
              var view = views[name];
              var tablesUsed = TABLES.filter(function (table) { return uses(spec, table); });
              tablesUsed.forEach(function (table) {
                view.change(table, vega.changeset().remove(function (d) { return changed[d.trial]; }).insert(copies(tables[table])));
              });
              // Its own rows, only where they changed.
              var own = JSON.stringify(spec) !== JSON.stringify(before);
              var old = inlineData(before);
              if (own) inlineData(spec).forEach(function (data, i) {
                var differ = differingTrials(old[i].values, data.values);
                if (differ === null) view.change('inline_' + i, vega.changeset().remove(vega.truthy).insert(copies(data.values)));
                else view.change('inline_' + i, vega.changeset().remove(function (d) { return differ[d.trial]; }).insert(copies(data.values.filter(function (row) { return differ[row.trial]; }))));
              });
              done = tablesUsed.length || own ? view.runAsync() : Promise.resolve();
            }
            done.then(function () { setTimeout(next, 0); });
          })();
        });
      },
      // The changed trials' leaderboard rows (and detail rows) in place of theirs, open details
      // kept open; every row's rank and place; the leader; then the reader's order again.
      replaceRows: function (html, order, leader) {
        var holder = document.createElement('tbody');
        holder.innerHTML = html;
        Array.prototype.slice.call(holder.querySelectorAll('tr.trial')).forEach(function (row) {
          var detail = row.nextElementSibling;
          var old = body.querySelector('tr.trial[data-trial="' + row.getAttribute('data-trial') + '"]');
          if (!old) {
            body.appendChild(row);
            body.appendChild(detail);
            return;
          }
          var open = old.getAttribute('aria-expanded') === 'true';
          old.nextElementSibling.replaceWith(detail);
          old.replaceWith(row);
          if (open) toggle(row, true);
        });
        var rows = {};
        body.querySelectorAll('tr.trial').forEach(function (row) { rows[row.getAttribute('data-trial')] = row; });
        var listed = {};
        order.forEach(function (entry) { listed[entry[0]] = true; });
        Object.keys(rows).forEach(function (id) {
          if (listed[id]) return;
          rows[id].nextElementSibling.remove();
          rows[id].remove();
        });
        // Written only where they changed: a write the same as before still lays the table out again.
        order.forEach(function (entry, at) {
          var row = rows[entry[0]];
          if (!row) return;
          if (row.getAttribute('data-place') !== String(at)) row.setAttribute('data-place', String(at));
          var rank = entry[1] === null ? '' : String(entry[1]);
          if (row.cells[0].getAttribute('data-value') !== rank) {
            row.cells[0].setAttribute('data-value', rank);
            row.cells[0].textContent = rank;
          }
          if (row.classList.contains('leader') !== (entry[0] === leader)) row.classList.toggle('leader');
        });
        resort();
      },
    };
  }

  var report = JSON.parse(document.getElementById('report-data').textContent);
  window.lenetReport = {
    initSection: initSection,
    sections: report.sweeps.map(function (sweep, s) {
      return initSection(document.querySelector('section.sweep[data-sweep="' + s + '"]'), sweep);
    }),
  };
})();
