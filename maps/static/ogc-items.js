/* The small map on the OGC API items page (api/templates/ogc/items.html): the features of the
 * page, read from its <script type="application/json" id="gp-items">, on OpenStreetMap tiles.
 * A static file rather than inline script, so a Content-Security-Policy can forbid inline
 * script. Points are keyboard-focusable markers named by the feature; popups link to the item.
 */
(function () {
  'use strict';
  var el = document.getElementById('map');
  var source = document.getElementById('gp-items');
  if (!el || !source || !window.L) { return; }
  var data = JSON.parse(source.textContent);

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function name(f) {
    var p = f.properties || {};
    return String(p.name || p.address || p.title || f.id);
  }

  var map = L.map(el);
  L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png', {
    attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>' +
      '-bidragsytere'
  }).addTo(map);
  var layer = L.geoJSON(data, {
    pointToLayer: function (f, latlng) {
      return L.marker(latlng, {
        title: name(f),
        icon: L.divIcon({
          className: 'gp-ogc-point', iconSize: [14, 14],
          html: '<span class="gp-sr">' + esc(name(f)) + '</span>'
        })
      });
    },
    onEachFeature: function (f, l) {
      l.bindPopup('<b>' + esc(name(f)) + '</b><br><a href="' + esc(data.root) +
        '/collections/' + encodeURIComponent(data.collection) + '/items/' +
        encodeURIComponent(f.id) + '?f=html">Vis objektet</a>');
    }
  }).addTo(map);
  if (data.features.length) {
    map.fitBounds(layer.getBounds(), {maxZoom: 16});
  } else {
    map.setView([59.93, 10.96], 12);
  }
  var zoomIn = el.querySelector('.leaflet-control-zoom-in');
  var zoomOut = el.querySelector('.leaflet-control-zoom-out');
  if (zoomIn) { zoomIn.title = 'Zoom inn'; zoomIn.setAttribute('aria-label', 'Zoom inn'); }
  if (zoomOut) { zoomOut.title = 'Zoom ut'; zoomOut.setAttribute('aria-label', 'Zoom ut'); }
})();
