// On a sweep's page as `sweep serve` sends it: a box on each leaderboard row to choose trials, and
// a link to the page that shows the chosen ones side by side (/sweeps/NAME/compare). The choice
// is kept by trial id, so rows a live update puts in place, and a section taken again whole,
// keep their boxes ticked.
(function () {
  'use strict';
  var MOST = 8;
  var live = JSON.parse(document.getElementById('live-data').textContent);
  var chosen = [];

  function link() { return document.querySelector('a.compare-chosen'); }

  function show() {
    var a = link();
    if (!a) return;
    var enough = chosen.length >= 2;
    var text = enough ? 'compare the ' + chosen.length + ' chosen trials' : 'tick 2 to ' + MOST + ' trials to compare them';
    // Only when it changes: this runs on every change of the page, its own included.
    if (a.textContent !== text) a.textContent = text;
    if (enough) a.setAttribute('href', '/sweeps/' + encodeURIComponent(live.sweep) + '/compare?trials=' + chosen.join(','));
    else a.removeAttribute('href');
    document.querySelectorAll('input.choose').forEach(function (box) {
      box.disabled = !box.checked && chosen.length >= MOST;
    });
  }

  // A box on every row that has none (new rows, rows put in place), and the header and link once per section.
  function fit() {
    document.querySelectorAll('table.leaderboard').forEach(function (table) {
      var head = table.tHead.rows[0];
      if (!head.querySelector('th.choose')) {
        var th = document.createElement('th');
        th.className = 'choose';
        th.textContent = 'compare';
        head.appendChild(th);
        var p = document.createElement('p');
        var a = document.createElement('a');
        a.className = 'compare-chosen';
        a.target = '_blank';
        a.rel = 'noopener';
        p.appendChild(a);
        table.closest('.board').before(p);
      }
      table.querySelectorAll('tr.trial').forEach(function (row) {
        if (row.querySelector('input.choose')) return;
        var id = row.getAttribute('data-trial');
        var td = document.createElement('td');
        var box = document.createElement('input');
        box.type = 'checkbox';
        box.className = 'choose';
        box.title = 'compare this trial with others';
        box.checked = chosen.indexOf(id) >= 0;
        // Ticking a box is not opening the trial's detail.
        box.addEventListener('click', function (event) {
          event.stopPropagation();
          chosen = chosen.filter(function (other) { return other !== id; });
          if (box.checked) chosen.push(id);
          show();
        });
        td.appendChild(box);
        row.appendChild(td);
        var detail = row.nextElementSibling;
        var cell = detail && detail.classList.contains('detail') ? detail.cells[0] : null;
        if (cell) cell.colSpan = row.cells.length;
      });
    });
    show();
  }

  // Rows come and go in a leaderboard's body (live updates), sections in main (a section taken
  // again whole): only those are watched, not every change of the charts' drawing.
  var observer = new MutationObserver(fit);
  var watched = [];
  function watch() {
    document.querySelectorAll('table.leaderboard').forEach(function (table) {
      if (watched.indexOf(table.tBodies[0]) >= 0) return;
      watched.push(table.tBodies[0]);
      observer.observe(table.tBodies[0], { childList: true });
    });
  }
  fit();
  watch();
  new MutationObserver(function () {
    watched = watched.filter(function (body) { return document.contains(body); });
    watch();
    fit();
  }).observe(document.querySelector('main'), { childList: true });
})();
