/* geoplan's own page code: the premises layer, the HTML panels and the coordinate readout of
 * every geoplan map.
 *
 * Inlined into each written map by maps/assets.py, like the vendored libraries; the folium
 * elements in maps/base.py call these functions with their data. Plain ES5, no dependencies but
 * Leaflet and Leaflet.markercluster.
 */
(function (root) {
  'use strict';
  var geoplan = root.geoplan = root.geoplan || {};

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function num(x) {
    return Math.round(x).toString().replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
  }
  function date(s) { var p = s.split('-'); return p[2] + '.' + p[1] + '.' + p[0]; }

  /* The popup of one premises row (columns: maps.base.PREMISES_ROW), built when it opens. */
  function premisesPopup(o, r) {
    var base = o.base, useLabels = o.useLabels, areaNames = o.areaNames;
    var today = new Date().toISOString().slice(0, 10);
    var uses = r[4].map(function (u) { return useLabels[u] || u; }).join(', ');
    var rows = [
      ['Bruk', esc(uses)],
      ['Areal', r[5] == null ? '–' : num(r[5]) + ' m²'],
      ['Leie', r[6] == null ? 'ikke oppgitt' : num(r[6]) + ' kr/m²/år'],
      ['Ledig', r[7] == null || r[7] <= today ? 'nå' : 'fra ' + date(r[7])],
      ['Nærmeste knutepunkt', r[8] == null ? '–' : esc(r[8]) + (r[9] == null ? '' :
        ', ca. ' + Math.round(r[9]) + ' min gange' +
        (r[10] === 'straight_line' ? ' (luftlinje × omvei, anslag)' : ''))]
    ];
    if (r[12] != null) {
      rows.push(['Fokusområde', '<a href="' + base + '/maps/areas/' + encodeURIComponent(r[12]) +
        '" target="_top">' + esc(areaNames[r[12]] || r[12]) + '</a>']);
    }
    var html = '<div class="gp-popup gp-premises-popup" data-id="' + esc(r[2]) + '">';
    if (r[11]) { html += '<p><span class="gp-sample-tag">EKSEMPELDATA</span> ' +
      'Oppdiktet lokale til demonstrasjon, ikke en ekte annonse.</p>'; }
    html += '<h3>' + esc(r[3]) + '</h3><table>';
    rows.forEach(function (x) {
      html += '<tr><td><b>' + x[0] + '</b></td><td>' + x[1] + '</td></tr>';
    });
    html += '</table><p><a href="' + base + '/premises/' + encodeURIComponent(r[2]) +
      '" target="_top">Åpne oppføringen</a></p></div>';
    return html;
  }

  geoplan.premisesPopup = premisesPopup;  // also for the vector-tile layer (geoplan-tiles.js)

  /* Vacant premises as clustered markers, made from one compact array (maps.base.PremisesCluster).
   * o: {base: link prefix, useLabels: {use: label}, areaNames: {slug: name},
   *     cluster: L.markerClusterGroup options}. */
  geoplan.premisesCluster = function (data, o) {
    var cluster = L.markerClusterGroup(o.cluster);
    var markers = new Array(data.length);
    for (var i = 0; i < data.length; i++) {
      var r = data[i];
      var use = r[4][0] || 'other';
      var m = L.marker([r[0], r[1]], {
        title: r[3],
        icon: L.divIcon({
          className: 'gp-premises gp-use-' + use + (r[11] ? ' gp-sample' : ''),
          html: '', iconSize: [14, 14]
        })
      });
      m.geoplanId = r[2];
      m.bindPopup(premisesPopup.bind(null, o, r), {maxWidth: 340});
      markers[i] = m;
    }
    cluster.addLayers(markers);
    return cluster;
  };

  /* An HTML panel as a Leaflet control (maps.base.Panel): it stays on the map in fullscreen
   * mode, and clicks and scrolling inside it do not pan or zoom the map. */
  geoplan.panel = function (map, position, className, html) {
    var control = L.control({position: position});
    control.onAdd = function () {
      var div = L.DomUtil.create('div', className);
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    control.addTo(map);
    return control;
  };

  /* The mouse-position readout in bokmål: N 59.93000 | Ø 10.96500. */
  geoplan.formatLat = function (n) { return 'N ' + L.Util.formatNum(n, 5); };
  geoplan.formatLng = function (n) { return 'Ø ' + L.Util.formatNum(n, 5); };
})(window);
