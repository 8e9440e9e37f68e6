// The run report's only script, inlined into every page and allowed by its hash in the page's
// Content-Security-Policy, so no other script (an injected one included) can run. It filters
// tables; the report reads fine without it.
'use strict';
(function () {
  function setup(box) {
    var table = document.getElementById(box.getAttribute('data-for'));
    if (!table) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var text = box.querySelector('input[type=search]');
    var kind = box.querySelector('select');
    var only = box.querySelector('input[type=checkbox]');
    var count = box.querySelector('.count');
    var hay = null;
    function apply() {
      // Lower-cased row text once, on first use, not at load nor on every keystroke.
      if (!hay) hay = rows.map(function (r) { return r.textContent.toLowerCase(); });
      var q = text ? text.value.trim().toLowerCase() : '';
      var k = kind ? kind.value : '';
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var r = rows[i];
        var ok = (!q || hay[i].indexOf(q) >= 0) && (!k || r.getAttribute('data-kind') === k) &&
                 (!only || !only.checked || r.getAttribute('data-level') === 'error');
        r.classList.toggle('hidden', !ok);
        if (ok) shown++;
      }
      if (count) count.textContent = shown + ' of ' + rows.length;
    }
    [text, kind, only].forEach(function (el) {
      if (el) el.addEventListener(el === text ? 'input' : 'change', apply);
    });
    // Nothing is hidden at load: only the count is set, so loading touches no row.
    if (count) count.textContent = rows.length + ' of ' + rows.length;
  }
  document.querySelectorAll('.filter[data-for]').forEach(setup);
})();
