/* Sharing and embedding a served geoplan map (maps/embed.py).
 *
 * The map view lives in the address's fragment (#kart=zoom/lat/lon), kept current as the map
 * is moved (once the person has touched it: a page just opened keeps its address), so a copied
 * address — the filters in its query, the view in its fragment — opens the
 * same map. Full pages have a "Del kartet" part in their title panel (maps/embed.py writes its
 * fields): the share link and an <iframe> snippet of the embed mode (?embed=1), each with a copy
 * button, filled in here. Embedded pages (?embed=1) get a compact
 * bar instead of the side panel, with a link back to the full page. Nothing is offered on a map
 * opened from a file (there is no address to share).
 * Plain ES5, no dependencies but Leaflet.
 */
(function (root) {
  'use strict';
  var geoplan = root.geoplan = root.geoplan || {};
  var VIEW = /(^#|&)kart=(\d{1,2})\/(-?\d{1,2}(?:\.\d+)?)\/(-?\d{1,3}(?:\.\d+)?)/;

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }

  function viewFragment(map) {
    var c = map.getCenter();
    return '#kart=' + map.getZoom() + '/' + c.lat.toFixed(5) + '/' + c.lng.toFixed(5);
  }

  /* The current address with ?embed=1 set or removed, and the current view. */
  function address(map, embed) {
    var url = new URL(root.location.href);
    if (embed) { url.searchParams.set('embed', '1'); } else { url.searchParams.delete('embed'); }
    url.hash = viewFragment(map);
    return url.toString();
  }

  function snippet(map, title) {
    return '<iframe src="' + esc(address(map, true)) + '" title="' + esc(title) +
      '" width="100%" height="480" style="border:0" loading="lazy" allowfullscreen></iframe>';
  }

  function copy(field, button) {
    var done = function () {
      var text = button.textContent;
      button.textContent = 'Kopiert';
      setTimeout(function () { button.textContent = text; }, 1500);
    };
    if (root.navigator.clipboard && root.isSecureContext) {
      root.navigator.clipboard.writeText(field.value).then(done, function () {
        field.select();
      });
    } else {
      field.select();
      if (root.document.execCommand('copy')) { done(); }
    }
  }

  function control(map, position, className, html, onAdd) {
    var c = L.control({position: position});
    c.onAdd = function () {
      var div = L.DomUtil.create('div', className);
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      onAdd(div);
      return div;
    };
    c.addTo(map);
    return c;
  }

  /* o: {title, embed: bool, bar: HTML of the embed bar (title and notes), note: text about
   *     where the map may be embedded, or ''} */
  geoplan.share = function (map, o) {
    var match = VIEW.exec(root.location.hash);
    if (match) {
      map.setView([+match[3], +match[4]], +match[2], {animate: false});
    }
    if (!/^https?:$/.test(root.location.protocol)) { return null; }
    var update;
    if (o.embed) {
      control(map, 'topleft', 'gp-panel gp-embed', o.bar +
        '<p><a class="gp-full-link" target="_blank" rel="noopener">Åpne fullt kart ↗</a></p>',
        function (div) {
          var link = div.querySelector('.gp-full-link');
          update = function () { link.href = address(map, false); };
        });
    } else {
      var div = map.getContainer().querySelector('.gp-share');  /* in the title panel */
      if (!div) { return null; }
      if (o.note) {
        var note = L.DomUtil.create('p', 'gp-note', div);
        note.textContent = o.note;
      }
      var link = div.querySelector('#gp-share-link');
      var code = div.querySelector('#gp-embed-code');
      update = function () {
        link.value = address(map, false);
        code.value = snippet(map, o.title);
      };
      Array.prototype.forEach.call(div.querySelectorAll('button[data-copy]'), function (b) {
        L.DomEvent.on(b, 'click', function () {
          copy(div.querySelector('#' + b.getAttribute('data-copy')), b);
        });
      });
    }
    /* The address follows the view once the person has touched the map (or opened it with a
     * view in the address): a page just loaded keeps the address it was opened with. */
    var touched = !!match;
    L.DomEvent.on(map.getContainer(), 'mousedown touchstart wheel keydown', function () {
      touched = true;
    });
    var keep = function () {
      update();
      if (touched && root.history && root.history.replaceState) {
        root.history.replaceState(root.history.state, '', viewFragment(map));
      }
    };
    map.whenReady(function () { update(); });
    map.on('moveend', keep);
    return {update: update};
  };
})(window);
