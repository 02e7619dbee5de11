/* geoplan's own page code: the premises layer, the HTML panels and the coordinate readout of
 * every geoplan map.
 *
 * Inlined into each written map by maps/assets.py, like the vendored libraries; the folium
 * elements in maps/base.py call these functions with their data. Plain ES5, no dependencies but
 * Leaflet and Leaflet.markercluster. geoplan.a11y makes each map usable by keyboard and screen
 * reader (docs/accessibility.md).
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
    html += '</table><p><a href="' + base + '/maps/premises/' + encodeURIComponent(r[2]) +
      '" target="_top">Åpne lokalet</a> · <a href="' + base + '/premises/' +
      encodeURIComponent(r[2]) + '" target="_top">JSON-data</a></p></div>';
    return html;
  }

  geoplan.premisesPopup = premisesPopup;  // also for the vector-tile layer (geoplan-tiles.js)

  /* A cluster's icon says in words how many premises it holds (its accessible name). */
  function clusterIcon(cluster) {
    var n = cluster.getChildCount();
    var size = n < 10 ? 'small' : n < 100 ? 'medium' : 'large';
    return L.divIcon({
      html: '<div><span>' + n + '<span class="gp-sr"> ledige lokaler her, velg for å zoome inn' +
        '</span></span></div>',
      className: 'marker-cluster marker-cluster-' + size, iconSize: L.point(40, 40)
    });
  }

  /* Vacant premises as clustered markers, made from one compact array (maps.base.PremisesCluster).
   * o: {base: link prefix, useLabels: {use: label}, useBadges: {use: letter},
   *     areaNames: {slug: name}, cluster: L.markerClusterGroup options}.
   * Each marker shows its use's letter as well as its colour, and is named for screen readers by
   * its address, use and whether it is sample data. */
  geoplan.premisesCluster = function (data, o) {
    o.cluster.iconCreateFunction = o.cluster.iconCreateFunction || clusterIcon;
    var cluster = L.markerClusterGroup(o.cluster);
    var badges = o.useBadges || {};
    var markers = new Array(data.length);
    for (var i = 0; i < data.length; i++) {
      var r = data[i];
      var use = r[4][0] || 'other';
      var name = r[3] + ', ' + (o.useLabels[use] || use).toLowerCase() +
        (r[11] ? ', eksempeldata' : '');
      var m = L.marker([r[0], r[1]], {
        title: r[3],
        icon: L.divIcon({
          className: 'gp-premises gp-use-' + use + (r[11] ? ' gp-sample' : ''),
          html: '<span aria-hidden="true">' + esc(badges[use] || '') + '</span>' +
            '<span class="gp-sr">' + esc(name) + '</span>',
          iconSize: [18, 18]
        })
      });
      m.geoplanId = r[2];
      m.bindPopup(premisesPopup.bind(null, o, r), {maxWidth: 340});
      markers[i] = m;
    }
    cluster.addLayers(markers);
    return cluster;
  };

  var NARROW = '(max-width: 40rem)';
  function narrow() { return !!(root.matchMedia && root.matchMedia(NARROW).matches); }

  /* An HTML panel as a Leaflet control (maps.base.Panel): it stays on the map in fullscreen
   * mode, and clicks and scrolling inside it do not pan or zoom the map. On narrow screens its
   * collapsible parts (details[data-gp-collapse]) start closed, so the panel is a row of
   * buttons and the map stays visible. */
  geoplan.panel = function (map, position, className, html) {
    var control = L.control({position: position});
    control.onAdd = function () {
      var div = L.DomUtil.create('div', className);
      div.innerHTML = html;
      if (narrow()) {
        var parts = div.querySelectorAll('details[data-gp-collapse]');
        for (var i = 0; i < parts.length; i++) { parts[i].open = false; }
      }
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    control.addTo(map);
    return control;
  };

  /* A metric scale bar (maps.base.MetricScale): 160 px at most, 90 on narrow screens. */
  geoplan.scale = function (map) {
    return L.control.scale({imperial: false, maxWidth: narrow() ? 90 : 160}).addTo(map);
  };

  function setLabel(el, text) {
    if (!el) { return; }
    el.title = text;
    el.setAttribute('aria-label', text);
  }

  /* Open the details elements around a skip link's target, then focus it. */
  function followSkipLink(e) {
    var id = (this.getAttribute('href') || '').slice(1);
    var target = id && document.getElementById(id);
    if (!target) { return; }
    for (var el = target; el; el = el.parentElement) {
      if (el.tagName === 'DETAILS') { el.open = true; }
    }
    if (!target.hasAttribute('tabindex') && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) {
      target.setAttribute('tabindex', '-1');
    }
    target.focus();
    if (target.scrollIntoView) { target.scrollIntoView({block: 'nearest'}); }
    e.preventDefault();
  }

  /* Keyboard and screen-reader use of a map (maps.base.add_controls calls this last):
   * - the map is a named region with a short keyboard help;
   * - the panels and buttons come before the markers in the tab order (and reading order);
   * - Leaflet's English button names become Norwegian;
   * - a popup opened from the keyboard gets the focus, and gives it back to its marker when it
   *   closes;
   * - on narrow screens at most one panel part is open at a time, so panels never overlap;
   * - skip links open the collapsed panel part they point into. */
  geoplan.a11y = function (map, label) {
    var c = map.getContainer();
    c.setAttribute('role', 'region');
    c.setAttribute('aria-label', label);
    var help = L.DomUtil.create('p', 'gp-sr');
    help.id = c.id + '-help';
    help.textContent = 'Piltastene flytter kartet, pluss og minus zoomer. Tab går til knappene ' +
      'og markørene i kartet, Enter åpner en markør. Alt kartet viser, står også som lister ' +
      'under kartet.';
    c.setAttribute('aria-describedby', help.id);
    c.insertBefore(map._controlContainer, c.firstChild);
    c.insertBefore(help, c.firstChild);

    setLabel(c.querySelector('.leaflet-control-zoom-in'), 'Zoom inn');
    setLabel(c.querySelector('.leaflet-control-zoom-out'), 'Zoom ut');
    setLabel(c.querySelector('.leaflet-control-layers-toggle'), 'Velg kartlag');

    var opener = null;
    map.on('popupopen', function (e) {
      var el = e.popup.getElement();
      setLabel(el.querySelector('.leaflet-popup-close-button'), 'Lukk');
      if (!el.geoplanEscape) {
        el.geoplanEscape = true;
        el.addEventListener('keydown', function (k) {
          if (k.key === 'Escape') { map.closePopup(); }
        });
      }
      var active = document.activeElement;
      if (active && active.classList && active.classList.contains('leaflet-marker-icon')) {
        opener = active;
        var content = el.querySelector('.leaflet-popup-content') || el;
        content.setAttribute('tabindex', '-1');
        content.focus();
      } else {
        opener = null;
      }
    });
    map.on('popupclose', function (e) {
      var el = e.popup.getElement();
      if (opener && el && el.contains(document.activeElement)) { opener.focus(); }
      opener = null;
    });

    c.addEventListener('toggle', function (e) {
      var d = e.target;
      if (!narrow() || !d.open || !d.hasAttribute('data-gp-collapse')) { return; }
      var open = c.querySelectorAll('details[data-gp-collapse][open]');
      for (var i = 0; i < open.length; i++) {
        if (open[i] !== d && !open[i].contains(d) && !d.contains(open[i])) { open[i].open = false; }
      }
    }, true);

    // On narrow screens the attribution line spans the map's width (two lines when long): the
    // bottom-left corner (scale bar) sits just above it instead of beside or under it.
    var bottomLeft = c.querySelector('.leaflet-bottom.leaflet-left');
    function liftBottomLeft() {
      var attribution = c.querySelector('.leaflet-control-attribution');
      if (!bottomLeft) { return; }
      var lift = narrow() && attribution ? attribution.offsetHeight + 2 : 0;
      bottomLeft.style.bottom = lift ? lift + 'px' : '';
    }
    function liftSoon() { setTimeout(liftBottomLeft, 0); }
    map.on('layeradd layerremove resize', liftSoon);
    liftBottomLeft();

    var skips = document.querySelectorAll('.gp-skip a');
    for (var i = 0; i < skips.length; i++) { skips[i].addEventListener('click', followSkipLink); }
  };

  /* The search area of the search map (maps/search.py SearchArea): the drawn polygon or the
   * circle the search uses, and the form's area buttons. A drawn polygon or rectangle
   * (Leaflet.draw's handlers, started from geoplan's own buttons, not its toolbar), or the
   * current map view ("Søk i kartutsnittet", the keyboard's way), goes into the form's hidden
   * `within` field as WKT (WGS84 lon/lat) and the form is sent: the area is in the URL, so a
   * shared link keeps it. */
  var AREA_STYLE = {color: '#6a1b9a', weight: 3, fill: true, fillOpacity: 0.06, dashArray: '6 4'};
  var MAX_VIEW_KM2 = 5000;  // geoplan.premises.place.MAX_WITHIN_AREA_KM2

  function ringWkt(latlngs) {
    var pts = latlngs.map(function (p) { return p.lng.toFixed(6) + ' ' + p.lat.toFixed(6); });
    if (pts[0] !== pts[pts.length - 1]) { pts.push(pts[0]); }
    return 'POLYGON((' + pts.join(', ') + '))';
  }
  function boundsKm2(b) {
    var lat = (b.getNorth() + b.getSouth()) / 2 * Math.PI / 180;
    var w = (b.getEast() - b.getWest()) * 111.32 * Math.cos(lat);
    return w * (b.getNorth() - b.getSouth()) * 110.57;
  }

  geoplan.searchArea = function (map, place) {
    var layer = L.featureGroup().addTo(map);
    (window.geoplanLayers = window.geoplanLayers || {})['search-area'] = layer;
    if (place && place.area) {
      L.geoJSON(place.area, {style: AREA_STYLE, interactive: false}).addTo(layer);
    }
    if (place && place.circle) {
      L.circle([place.circle.lat, place.circle.lon],
        L.extend({radius: place.circle.radius_m, interactive: false}, AREA_STYLE)).addTo(layer);
    }
    // the form is in a panel that page scripts add after this one: wire it once they have run
    setTimeout(function () { wireAreaControls(map); }, 0);
  };

  function wireAreaControls(map) {
    var form = document.getElementById('gp-filter');
    var status = document.getElementById('gp-place-status');
    if (!form || !status) { return; }
    function field(id) { return document.getElementById(id); }
    function say(text) { status.textContent = text; }
    function send(within) {
      field('gp-within').value = within;
      field('gp-within-crs').value = '';
      if (within) { field('gp-near').value = ''; field('gp-radius').value = ''; }
      // sort=distance measures from near: without it, the default order
      var sort = field('gp-sort');
      if (sort && sort.value === 'distance' && !field('gp-near').value) { sort.value = 'walk'; }
      say('Søker i området …');
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }
    if (L.drawLocal) {
      var handlers = L.drawLocal.draw.handlers;
      handlers.polygon.tooltip = {
        start: 'Klikk for å sette det første hjørnet.',
        cont: 'Klikk for neste hjørne.',
        end: 'Klikk på det første hjørnet for å avslutte.'
      };
      handlers.polygon.error = '<strong>Feil:</strong> kantene kan ikke krysse hverandre.';
      handlers.rectangle.tooltip = {start: 'Klikk og dra for å tegne rektangelet.'};
      handlers.simpleshape.tooltip = {end: 'Slipp for å avslutte.'};
    }
    var drawing = null;
    function draw(Handler, text) {
      if (!L.Draw) { say('Tegneverktøyet mangler; bruk «Søk i kartutsnittet».'); return; }
      if (drawing) { drawing.disable(); }
      drawing = new Handler(map, {showArea: false, allowIntersection: false,
                                  shapeOptions: AREA_STYLE});
      drawing.enable();
      say(text + ' Esc avbryter.');
    }
    map.on('draw:created', function (e) {
      drawing = null;
      send(ringWkt(e.layer.getLatLngs()[0]));
    });
    map.on('draw:drawstop', function () {
      if (drawing) { drawing = null; say('Tegningen er avbrutt.'); }
    });
    field('gp-draw-polygon').addEventListener('click', function () {
      draw(L.Draw && L.Draw.Polygon,
        'Klikk i kartet for hvert hjørne, og på det første hjørnet for å avslutte.');
    });
    field('gp-draw-rectangle').addEventListener('click', function () {
      draw(L.Draw && L.Draw.Rectangle, 'Trykk og dra i kartet for å tegne rektangelet.');
    });
    field('gp-use-view').addEventListener('click', function () {
      var b = map.getBounds();
      var km2 = boundsKm2(b);
      if (km2 > MAX_VIEW_KM2) {
        say('Kartutsnittet er ' + num(km2) + ' km²; zoom inn til under ' + num(MAX_VIEW_KM2) +
            ' km² og prøv igjen.');
        return;
      }
      send(ringWkt([b.getSouthWest(), b.getSouthEast(), b.getNorthEast(), b.getNorthWest()]));
    });
    field('gp-clear-area').addEventListener('click', function () {
      field('gp-near').value = '';
      field('gp-radius').value = '';
      send('');
    });
  }

  /* The mouse-position readout in bokmål: N 59.93000 | Ø 10.96500. */
  geoplan.formatLat = function (n) { return 'N ' + L.Util.formatNum(n, 5); };
  geoplan.formatLng = function (n) { return 'Ø ' + L.Util.formatNum(n, 5); };
})(window);
