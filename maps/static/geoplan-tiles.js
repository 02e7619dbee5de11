/* geoplan's vector-tile premises layer: above a threshold the overview and search maps load
 * premises as Mapbox Vector Tiles from the server (/ogc/collections/premises/tiles/...) instead
 * of carrying them inline (maps/tiles.py).
 *
 * Drawn with the vendored Leaflet.VectorGrid (canvas): below the zoom where tiles switch to
 * single premises they hold clusters (one point per cell, property `count`), drawn as circles
 * growing with the count; a click on one zooms in. Clicks are matched to drawn points here
 * (see hit), not by VectorGrid's canvas handlers, so the focus areas beneath stay clickable. Single premises are coloured by their first
 * use (as the inline layer) and open the same popup (geoplan.premisesPopup in geoplan.js).
 * Plain ES5, no dependencies but Leaflet, Leaflet.VectorGrid and geoplan.js.
 */
(function (root) {
  'use strict';
  var geoplan = root.geoplan = root.geoplan || {};

  // Leaflet.VectorGrid 1.3.0 calls L.DomEvent.fakeStop on a click, which Leaflet 1.8 removed
  // (only reached with its `interactive` option, which geoplan leaves off; kept for safety).
  if (root.L && L.DomEvent && !L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function () { return true; };
  }

  function clusterStyle(count) {
    return {
      radius: Math.min(24, 7 + 4 * Math.log(count) / Math.LN10),
      fill: true, fillColor: '#1f618d', fillOpacity: 0.7,
      color: '#fff', weight: 2, opacity: 1
    };
  }

  function premisesStyle(o, p) {
    var use = (p.uses || '').split(',')[0] || 'other';
    return {
      radius: 7, fill: true, fillColor: o.useColors[use] || '#566573', fillOpacity: 0.95,
      color: p.sample ? '#222' : '#fff', weight: 2, opacity: 1,
      dashArray: p.sample ? '3 2' : null
    };
  }

  /* The popup row geoplan.premisesPopup takes (columns: maps.base.PREMISES_ROW). */
  function row(o, p, latlng) {
    return [latlng.lat, latlng.lng, p.id, p.address,
      p.uses ? p.uses.split(',') : [], p.floor_area_m2, p.rent_nok_m2_year,
      p.available_from, o.hubNames[p.nearest_hub_id] || p.nearest_hub_id,
      p.walk_min, p.walk_method, p.sample ? 1 : 0, null];
  }

  /* The drawn feature nearest the container point `at`, within `radius` pixels, or null: the
   * tiles sit in their own pane above the focus areas with pointer events off (so a click
   * reaches the areas beneath), and a click is matched against the drawn points here. */
  function hit(layer, map, at, radius) {
    var zoom = map.getZoom(), size = layer.getTileSize(), best = null, bestD = radius;
    for (var key in layer._vectorTiles) {
      var parts = key.split(':'), z = +parts[2];
      if (z !== zoom) { continue; }
      var origin = L.point(+parts[0], +parts[1]).scaleBy(size);
      var features = layer._vectorTiles[key]._features || {};
      for (var id in features) {
        var f = features[id].feature;
        if (!f._point) { continue; }
        var ll = map.unproject(origin.add(f._point), z);
        var d = map.latLngToContainerPoint(ll).distanceTo(at);
        var r = (f.properties.count != null ? clusterStyle(f.properties.count).radius : 7) + 3;
        if (d <= Math.max(bestD, r) && (best === null || d < bestD)) {
          best = {properties: f.properties, latlng: ll}; bestD = d;
        }
      }
    }
    return best;
  }

  /* o: {url: tile URL template ({z}/{y}/{x}), name: MVT layer, clusterBelow: zoom,
   *     base, useLabels, areaNames, useColors, hubNames} */
  geoplan.premisesTiles = function (o) {
    var styles = {};
    styles[o.name] = function (p) {
      return p.count != null ? clusterStyle(p.count) : premisesStyle(o, p);
    };
    var next = 0;
    var layer = L.vectorGrid.protobuf(o.url, {
      rendererFactory: L.canvas.tile,
      vectorTileLayerStyles: styles,
      pane: 'geoplanPremises',
      getFeatureId: function () { next += 1; return next; },  // keeps the drawn features
      maxNativeZoom: 22,
      maxZoom: 22,
      attribution: 'Ledige lokaler: geoplan'
    });
    layer.geoplanLoaded = false;
    layer.on('load', function () { layer.geoplanLoaded = true; });
    layer.on('loading', function () { layer.geoplanLoaded = false; });

    function onPreclick(e) {
      var map = layer._map, found = hit(layer, map, e.containerPoint, 3);
      if (!found) { return; }
      var p = found.properties;
      // after the click itself, whose popup (a focus area beneath) this one replaces
      setTimeout(function () {
        if (p.count != null) {
          map.setView(found.latlng, Math.min(map.getZoom() + 2, o.clusterBelow));
        } else {
          L.popup({maxWidth: 340}).setLatLng(found.latlng)
            .setContent(geoplan.premisesPopup(o, row(o, p, found.latlng))).openOn(map);
        }
      }, 0);
    }
    layer.beforeAdd = function (map) {
      if (!map.getPane('geoplanPremises')) {
        var pane = map.createPane('geoplanPremises');
        pane.style.zIndex = 450;  // above the areas and catchments (400), below markers (600)
        pane.style.pointerEvents = 'none';
      }
      map.on('preclick', onPreclick);
      return this;
    };
    layer.on('remove', function (e) { e.target._map && e.target._map.off('preclick', onPreclick); });
    return layer;
  };
})(window);
