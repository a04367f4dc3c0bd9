// A sweep's page as `sweep serve` sends it keeps itself up to date: each second it asks the
// server what changed after its cursor (/api/sweeps/NAME/live), and puts the changes in place
// through the section's controller (page.js): the changed trials' rows into the charts' tables
// and the leaderboard, the summary, a chart whose spec changed drawn again. Nothing is reloaded,
// and the reader's sort, colour and open details stay. When the section's structure changed (the
// first curves, a new column, a new best trial's confusion matrix), the section is made again
// off screen from the page the server makes now, and takes the old one's place once drawn.
(function () {
  'use strict';
  var live = JSON.parse(document.getElementById('live-data').textContent);
  var page = window.lenetReport.sections[0];
  var cursor = live.cursor;
  var structure = live.structure;
  // Whether the page shows the sweep's run as killed (seen by the server from its process, not stored).
  var gone = live.gone;
  var shown = document.querySelector('.live-state');
  var leaderOf = function (sweep) {
    var lead = sweep.datasets.trials.filter(function (t) { return t.leader; })[0];
    return lead ? lead.trial : null;
  };
  var leader = leaderOf(page.sweep);
  var failingSince = null;
  // What the page did, for a person or a test to look at: answers with changes applied in place,
  // sections taken again whole, and how long the last change took to apply.
  var stats = window.lenetLive = { patched: 0, retaken: 0, applyMs: 0 };

  function say(text, failed) {
    if (!shown) return;
    shown.textContent = text;
    shown.classList.toggle('warning', Boolean(failed));
  }

  // The section again whole, from the page as the server makes it now.
  function takeWhole() {
    return fetch(location.pathname, { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('the server answered ' + r.status); return r.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, 'text/html');
        var fresh = document.importNode(doc.querySelector('section.sweep'), true);
        var sweep = JSON.parse(doc.getElementById('report-data').textContent).sweeps[0];
        var next = JSON.parse(doc.getElementById('live-data').textContent);
        var state = page.state();
        var select = fresh.querySelector('select.color-by');
        if (select && state.color !== null && select.querySelector('option[value="' + CSS.escape(state.color) + '"]')) select.value = state.color;
        fresh.hidden = true;
        page.section.after(fresh);
        var made = window.lenetReport.initSection(fresh, sweep);
        return made.ready.then(function () {
          made.restore(state);
          page.section.remove();
          fresh.hidden = false;
          page = window.lenetReport.sections[0] = made;
          cursor = next.cursor;
          structure = next.structure;
          gone = next.gone;
          live.colorBy = next.colorBy;
          leader = leaderOf(sweep);
        });
      });
  }

  function retake() {
    stats.retaken++;
    return takeWhole();
  }

  function apply(update) {
    var c = update.changes;
    if (update.retake) return retake();
    if (!c) {
      cursor = update.cursor;
      return null;
    }
    if (c.structure !== structure) return retake();
    var started = performance.now();
    // Trials the page shows that the sweep's run no longer has leave the charts too.
    var listed = {};
    c.order.forEach(function (entry) { listed[entry[0]] = true; });
    var left = page.sweep.datasets.trials.map(function (t) { return t.trial; }).filter(function (id) { return !listed[id]; });
    return page.patch(c.trials.concat(left), c.tables, c.charts).then(function () {
      page.replaceRows(c.rows, c.order, c.leader);
      var summary = page.section.querySelector('dl.summary');
      if (summary && summary.outerHTML !== c.summary) summary.outerHTML = c.summary;
      leader = c.leader;
      gone = c.gone;
      cursor = update.cursor;
      stats.patched++;
      stats.applyMs = performance.now() - started;
    });
  }

  function ask() {
    var url = '/api/sweeps/' + encodeURIComponent(live.sweep) + '/live?after=' + cursor +
      (live.colorBy !== null ? '&color=' + encodeURIComponent(live.colorBy) : '') + (leader ? '&leader=' + leader : '') + (gone ? '&gone=1' : '');
    return fetch(url, { cache: 'no-store' }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || 'the server answered ' + r.status);
        return body;
      });
    });
  }

  // Once a second; less often when the server took long to answer (a large sweep that changes all
  // the time: each answer reads it again), so that watching costs the server at most about a
  // third of its time.
  function poll() {
    var started = Date.now();
    var answered = started;
    ask().then(function (update) {
      answered = Date.now();
      return apply(update);
    }).then(function () {
      failingSince = null;
      say('This page updates itself while the sweep runs.');
    }, function (err) {
      failingSince = failingSince || new Date();
      say('Not updated since ' + failingSince.toLocaleTimeString() + ': ' + err.message + ' (trying again each second).', true);
    }).then(function () {
      setTimeout(poll, Math.max(1000 - (Date.now() - started), 2 * (answered - started)));
    });
  }
  page.ready.then(function () { setTimeout(poll, 1000); });
})();
