/* geoplan's broker page (/megler): sign in with an API key, list one's own listings, add, change
 * and withdraw them through the JSON API.
 *
 * The key lives in this tab's sessionStorage only (never a cookie, never a URL) and is sent as
 * `Authorization: Bearer`. Saving uses the API's own rules: the server validates (problem+json
 * naming each field, shown next to it and in a summary at the top), `If-Match` carries the
 * version the form was filled from (412: someone else changed it: reload), and a key changes
 * only its own listings (403). No inline script or handler: a strict CSP can forbid both.
 */
(function () {
  'use strict';

  var root = document.getElementById('gp-megler');
  if (!root) return;
  var SITE = root.getAttribute('data-site') || '';
  var STORE = 'geoplan.megler.key';
  var PAGE = 50;
  var STATUS_WORDS = { available: 'Ledig', withdrawn: 'Trukket tilbake' };
  var state = { key: null, me: null, offset: 0, total: 0, editing: null, map: null, marker: null,
               filledPosition: null };

  function $(id) { return document.getElementById(id); }
  function show(el, on) { el.hidden = !on; }
  function controls() {
    return Array.prototype.slice.call(document.querySelectorAll('#gp-form [data-field]'));
  }
  function visibleControls() {
    return controls().filter(function (c) {
      return !(c.getAttribute('data-admin-only') && !(state.me && state.me.admin));
    });
  }

  // -- talking to the API ---------------------------------------------------------------------
  function api(method, path, body, headers) {
    var h = { Accept: 'application/geo+json, application/json' };
    if (state.key) h.Authorization = 'Bearer ' + state.key;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    return fetch(SITE + path, {
      method: method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store'
    }).then(function (r) {
      var type = r.headers.get('Content-Type') || '';
      var parse = type.indexOf('json') >= 0 ? r.json() : r.text();
      return parse.then(function (data) {
        return { status: r.status, etag: r.headers.get('ETag'), data: data };
      });
    }, function () {
      return { status: 0, data: null };
    });
  }

  function announce(text) {
    var s = $('gp-status');
    s.textContent = '';
    window.setTimeout(function () { s.textContent = text; }, 50);
  }

  function focus(el) {
    if (!el) return;
    el.focus();
    if (el.scrollIntoView) el.scrollIntoView({ block: 'nearest' });
  }

  // -- signing in and out ---------------------------------------------------------------------
  function keyError(text) {
    var e = $('gp-key-error');
    e.textContent = text;
    show(e, !!text);
    if (text) $('gp-key').setAttribute('aria-invalid', 'true');
    else $('gp-key').removeAttribute('aria-invalid');
  }

  function signIn(key, fromForm) {
    state.key = key;
    return api('GET', '/me').then(function (r) {
      if (r.status === 200) {
        try { window.sessionStorage.setItem(STORE, key); } catch (e) { /* private mode */ }
        signedIn(r.data, fromForm);
        return;
      }
      state.key = null;
      try { window.sessionStorage.removeItem(STORE); } catch (e) { /* ignore */ }
      showLogin();
      if (r.status === 401) keyError('Nøkkelen er ukjent eller trukket tilbake. Sjekk at du har limt inn hele nøkkelen.');
      else if (r.status === 403) keyError('Denne nøkkelen kan ikke legge inn lokaler.');
      else keyError('Kunne ikke logge inn nå (' + describeStatus(r) + '). Prøv igjen om litt.');
      if (fromForm) focus($('gp-key'));
    });
  }

  function signedIn(me, fromForm) {
    state.me = me;
    $('gp-key').value = '';
    keyError('');
    $('gp-who').textContent = me.name;
    $('gp-role').textContent = me.admin ? '(administrator: kan endre alle oppføringer)' : '(megler)';
    Array.prototype.forEach.call(document.querySelectorAll('.gp-admin-only'), function (el) {
      show(el, me.admin);
    });
    show($('gp-login'), false);
    show($('gp-account'), true);
    showList(false);
    loadList().then(function () {
      if (fromForm) {
        announce('Du er logget inn som ' + me.name + '.');
        focus($('gp-list-title'));
      }
    });
  }

  function showLogin() {
    show($('gp-login'), true);
    show($('gp-account'), false);
    show($('gp-list'), false);
    show($('gp-editor'), false);
  }

  function signOut(message) {
    state.key = null;
    state.me = null;
    state.editing = null;
    try { window.sessionStorage.removeItem(STORE); } catch (e) { /* ignore */ }
    showLogin();
    announce(message || 'Du er logget ut.');
    focus($('gp-login-title'));
  }

  // -- the list of listings -------------------------------------------------------------------
  function showList(focusIt) {
    show($('gp-editor'), false);
    show($('gp-list'), true);
    $('gp-list-title').textContent = $('gp-all').checked ? 'Alle oppføringer' : 'Dine oppføringer';
    if (focusIt) focus($('gp-list-title'));
  }

  function number(value) {
    return value === null || value === undefined ? '–' : Number(value).toLocaleString('nb-NO');
  }

  function cell(row, label, content) {
    var td = document.createElement('td');
    td.setAttribute('data-label', label);
    if (typeof content === 'string') td.textContent = content;
    else td.appendChild(content);
    row.appendChild(td);
    return td;
  }

  function loadList() {
    var params = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
    var q = $('gp-q').value.trim();
    if (q) params.set('q', q);
    if (state.me && state.me.admin && $('gp-all').checked) params.set('all', 'true');
    return api('GET', '/me/premises?' + params.toString()).then(function (r) {
      if (r.status === 401) return signOut('Nøkkelen virker ikke lenger. Logg inn på nytt.');
      var body = $('gp-table').tBodies[0];
      body.textContent = '';
      if (r.status !== 200) {
        $('gp-count').textContent = 'Kunne ikke hente oppføringene (' + describeStatus(r) + ').';
        return;
      }
      state.total = r.data.numberMatched;
      r.data.features.forEach(function (f) {
        var p = f.properties;
        var tr = document.createElement('tr');
        var th = document.createElement('th');
        th.scope = 'row';
        th.setAttribute('data-label', 'Adresse');
        th.textContent = p.address;
        if (state.me.admin && !f.mine) {
          var who = document.createElement('span');
          who.className = 'gp-owner';
          who.textContent = f.owner ? 'Lagt inn av ' + f.owner.name : 'Kommunens (ingen kjent eier)';
          th.appendChild(document.createElement('br'));
          th.appendChild(who);
        }
        tr.appendChild(th);
        cell(tr, 'Status', STATUS_WORDS[p.status] || p.status);
        cell(tr, 'Areal', number(p.floor_area_m2) + ' m²');
        cell(tr, 'Sist endret', new Date(p.updated_at).toLocaleDateString('nb-NO'));
        var edit = document.createElement('button');
        edit.type = 'button';
        edit.className = 'gp-secondary';
        edit.setAttribute('data-edit', f.id);
        edit.textContent = 'Endre';
        var hidden = document.createElement('span');
        hidden.className = 'gp-visually-hidden';
        hidden.textContent = ' ' + p.address;
        edit.appendChild(hidden);
        cell(tr, 'Handling', edit);
        body.appendChild(tr);
      });
      var shown = r.data.numberReturned;
      if (!state.total) {
        $('gp-count').textContent = q ? 'Ingen oppføringer passer søket.' : 'Du har ingen oppføringer ennå.';
      } else {
        $('gp-count').textContent = state.total + (state.total === 1 ? ' oppføring' : ' oppføringer') +
          (state.total > shown ? ', viser ' + (state.offset + 1) + '–' + (state.offset + shown) : '') + '.';
      }
      show($('gp-table'), state.total > 0);
      show($('gp-prev'), state.offset > 0);
      show($('gp-next'), state.offset + shown < state.total);
    });
  }

  // -- the form -------------------------------------------------------------------------------
  function clearErrors() {
    show($('gp-summary'), false);
    show($('gp-conflict'), false);
    $('gp-summary').querySelector('ul').textContent = '';
    Array.prototype.forEach.call(document.querySelectorAll('#gp-form .gp-error'), function (e) {
      e.textContent = '';
      show(e, false);
    });
    Array.prototype.forEach.call(document.querySelectorAll('#gp-form [aria-invalid]'), function (e) {
      e.removeAttribute('aria-invalid');
    });
  }

  function setControl(c, value) {
    var kind = c.getAttribute('data-control');
    if (kind === 'checkboxes') {
      var chosen = value || [];
      Array.prototype.forEach.call(c.querySelectorAll('input[type=checkbox]'), function (box) {
        box.checked = chosen.indexOf(box.value) >= 0;
      });
    } else if (kind === 'checkbox') {
      c.checked = !!value;
    } else if (kind === 'select') {
      c.value = value === null || value === undefined ? c.options[0].value : value;
    } else if (kind === 'date') {
      c.value = value ? String(value).slice(0, 10) : '';
    } else {
      c.value = value === null || value === undefined ? '' : String(value);
    }
  }

  function fill(feature) {
    var p = feature ? feature.properties : {};
    controls().forEach(function (c) { setControl(c, p[c.getAttribute('data-field')]); });
    var coords = feature && feature.geometry ? feature.geometry.coordinates : null;
    $('f-lon').value = coords ? String(round(coords[0])) : '';
    $('f-lat').value = coords ? String(round(coords[1])) : '';
    state.filledPosition = position();
    placeMarker();
  }

  // the position fields as filled in; a PATCH sends a geometry only when the user changed them,
  // so an edit that does not move the listing leaves its position (and, for a listing placed at
  // its address, the address's provenance and re-placing on a new address) to the server
  function position() { return $('f-lon').value + ',' + $('f-lat').value; }

  function round(x) { return Math.round(x * 1e7) / 1e7; }

  function collect(errors) {
    var props = {};
    visibleControls().forEach(function (c) {
      var name = c.getAttribute('data-field');
      var kind = c.getAttribute('data-control');
      if (kind === 'checkboxes') {
        props[name] = Array.prototype.filter.call(
          c.querySelectorAll('input[type=checkbox]'), function (b) { return b.checked; }
        ).map(function (b) { return b.value; });
      } else if (kind === 'checkbox') {
        props[name] = c.checked;
      } else if (kind === 'number') {
        if (c.validity && c.validity.badInput) {
          errors.push({ field: name, message: 'Må være et tall' });
        } else {
          props[name] = c.value === '' ? null : Number(c.value);
        }
      } else {
        var text = c.value.trim();
        props[name] = text === '' ? null : text;
      }
    });
    var lat = $('f-lat'), lon = $('f-lon');
    var geometry = null;
    if (lat.value !== '' || lon.value !== '' || lat.validity.badInput || lon.validity.badInput) {
      if (lat.validity.badInput || lon.validity.badInput || lat.value === '' || lon.value === '') {
        errors.push({ field: 'geometry', message: 'Skriv inn både breddegrad og lengdegrad som tall' });
      } else {
        geometry = { type: 'Point', coordinates: [Number(lon.value), Number(lat.value)] };
      }
    }
    return { props: props, geometry: geometry };
  }

  var TRANSLATIONS = [
    [/^is required$|^Field required$/i, 'Må fylles ut'],
    [/^must not be empty$/i, 'Må fylles ut'],
    [/^must be a non-empty list/i, 'Velg minst én'],
    [/^must be a finite number > (\S+) and ≤ (\S+)$/, 'Må være et tall over $1 og høyst $2'],
    [/^must be a finite number ≥ (\S+) and ≤ (\S+)$/, 'Må være et tall fra $1 til $2'],
    [/^must be a finite number/, 'Må være et tall'],
    [/^Input should be greater than (\S+)$/, 'Må være større enn $1'],
    [/^Input should be greater than or equal to (\S+)$/, 'Må være minst $1'],
    [/^Input should be less than or equal to (\S+)$/, 'Må være høyst $1'],
    [/^Input should be a valid number/, 'Må være et tall'],
    [/^Input should be a valid date/, 'Må være en gyldig dato'],
    [/^must be a valid date|^must be a date/, 'Må være en gyldig dato (ÅÅÅÅ-MM-DD)'],
    [/^String should have at most (\d+) characters?$/, 'Kan ha høyst $1 tegn'],
    [/^must be at most (\d+) characters$/, 'Kan ha høyst $1 tegn'],
    [/^point lies outside the municipality$/, 'Punktet ligger utenfor kommunen'],
    [/^must be one of/, 'Velg en av verdiene i listen'],
    [/^Input should be/, 'Ugyldig verdi']
  ];

  function translate(message) {
    for (var i = 0; i < TRANSLATIONS.length; i++) {
      var t = TRANSLATIONS[i];
      if (t[0].test(message)) return message.replace(t[0], t[1]);
    }
    return message;
  }

  function fieldOf(path) {
    var names = controls().map(function (c) { return c.getAttribute('data-field'); });
    var parts = String(path || '').split('.');
    for (var i = 0; i < parts.length; i++) {
      if (parts[i] === 'geometry' || parts[i] === 'crs') return 'geometry';
      if (names.indexOf(parts[i]) >= 0) return parts[i];
    }
    return null;
  }

  function labelOf(name) {
    if (name === 'geometry') return 'Plassering';
    var el = $('f-' + name);
    if (!el) return name;
    var label = el.tagName === 'FIELDSET' ? el.querySelector('legend') : document.querySelector('label[for="f-' + name + '"]');
    return label ? label.textContent.replace('*', '').trim() : name;
  }

  function showErrors(errors, heading) {
    clearErrors();
    var list = $('gp-summary').querySelector('ul');
    $('gp-summary-title').textContent = heading || 'Skjemaet har feil';
    errors.forEach(function (e) {
      var name = fieldOf(e.field);
      var text = translate(e.message || '');
      var li = document.createElement('li');
      if (name) {
        var target = $('f-' + name);
        var slot = $('f-' + name + '-error');
        if (slot) {
          slot.textContent = slot.hidden ? text : slot.textContent + ' ' + text;
          show(slot, true);
        }
        if (target) target.setAttribute('aria-invalid', 'true');
        var a = document.createElement('a');
        a.href = '#f-' + name;
        a.setAttribute('data-goto', 'f-' + name);
        a.textContent = labelOf(name) + ': ' + text;
        li.appendChild(a);
      } else {
        li.textContent = text;
      }
      list.appendChild(li);
    });
    show($('gp-summary'), true);
    focus($('gp-summary'));
  }

  function describeStatus(r) {
    if (r.status === 0) return 'fikk ikke kontakt med tjenesten';
    if (r.status === 503) return 'tjenesten er midlertidig utilgjengelig';
    return 'feil ' + r.status;
  }

  function problem(r) {
    if (r.status === 401) return signOut('Nøkkelen virker ikke lenger. Logg inn på nytt.');
    if (r.status === 412) {
      clearErrors();
      show($('gp-conflict'), true);
      return focus($('gp-conflict'));
    }
    if (r.status === 422 && r.data && r.data.errors) return showErrors(r.data.errors);
    if (r.status === 403) {
      return showErrors([{ message: 'Du kan ikke endre denne oppføringen: en nøkkel kan bare endre ' +
        'oppføringene den selv har lagt inn, og bare kommunen kan merke en oppføring som verifisert.' }],
        'Ikke tillatt');
    }
    if (r.status === 404) return showErrors([{ message: 'Oppføringen finnes ikke lenger.' }], 'Ikke funnet');
    return showErrors([{ message: 'Noe gikk galt (' + describeStatus(r) + '). Ingenting er lagret; prøv igjen.' }],
      'Ikke lagret');
  }

  function editorTitle() {
    var e = state.editing;
    $('gp-editor-title').textContent = e ? 'Endre oppføring: ' + e.feature.properties.address : 'Ny oppføring';
    show($('gp-withdraw'), !!e && e.feature.properties.status !== 'withdrawn');
    var history = $('gp-history-link');
    show(history, !!e);
    if (e) history.querySelector('a').href = SITE + '/premises/' + encodeURIComponent(e.feature.id) + '/history';
  }

  function openEditor() {
    clearErrors();
    show($('gp-confirm'), false);
    show($('gp-candidates'), false);
    show($('gp-list'), false);
    show($('gp-editor'), true);
    editorTitle();
    ensureMap();
    focus($('gp-editor-title'));
  }

  function openNew() {
    state.editing = null;
    fill(null);
    openEditor();
  }

  function load(id) {
    return api('GET', '/premises/' + encodeURIComponent(id)).then(function (r) {
      if (r.status !== 200) return r;
      state.editing = { feature: r.data, etag: r.etag };
      fill(r.data);
      return r;
    });
  }

  function openEdit(id) {
    return load(id).then(function (r) {
      if (r.status !== 200) {
        announce('Kunne ikke hente oppføringen (' + describeStatus(r) + ').');
        return;
      }
      openEditor();
    });
  }

  function save(event) {
    event.preventDefault();
    var errors = [];
    var got = collect(errors);
    if (errors.length) return showErrors(errors);
    var e = state.editing;
    var request;
    if (e) {
      var patch = { type: 'Feature', properties: got.props };
      if (got.geometry && position() !== state.filledPosition) patch.geometry = got.geometry;
      request = api('PATCH', '/premises/' + encodeURIComponent(e.feature.id), patch, { 'If-Match': e.etag });
    } else {
      var props = {};
      Object.keys(got.props).forEach(function (k) {
        var v = got.props[k];
        if (v !== null) props[k] = v;
      });
      request = api('POST', '/premises', { type: 'Feature', geometry: got.geometry, properties: props });
    }
    $('gp-save').disabled = true;
    return request.then(function (r) {
      $('gp-save').disabled = false;
      if (r.status !== 200 && r.status !== 201) return problem(r);
      state.editing = { feature: r.data, etag: r.etag };
      fill(r.data);
      clearErrors();
      editorTitle();
      announce(r.status === 201 ? 'Oppføringen er lagt inn.' : 'Endringene er lagret.');
      loadList();
    });
  }

  function reload() {
    var e = state.editing;
    if (!e) return;
    load(e.feature.id).then(function (r) {
      if (r.status !== 200) return problem(r);
      clearErrors();
      editorTitle();
      announce('Den nyeste versjonen er lastet inn. Gjør endringen din på nytt.');
      focus($('gp-editor-title'));
    });
  }

  function askWithdraw() {
    show($('gp-confirm'), true);
    focus($('gp-confirm-yes'));
  }

  function withdraw() {
    var e = state.editing;
    show($('gp-confirm'), false);
    api('DELETE', '/premises/' + encodeURIComponent(e.feature.id), undefined, { 'If-Match': e.etag })
      .then(function (r) {
        if (r.status !== 200) {
          focus($('gp-withdraw'));
          return problem(r);
        }
        state.editing = null;
        loadList().then(function () {
          showList(true);
          announce('Oppføringen på ' + r.data.properties.address + ' er trukket tilbake.');
        });
      });
  }

  // -- position: geocoding, the map, coordinates ----------------------------------------------
  function setPosition(lat, lon, text) {
    $('f-lat').value = String(round(lat));
    $('f-lon').value = String(round(lon));
    placeMarker(true);
    announce('Posisjonen er satt' + (text ? ' til ' + text : '') + '.');
  }

  function geocode() {
    var address = $('f-address');
    var q = address ? address.value.trim() : '';
    var box = $('gp-candidates');
    var list = box.querySelector('ul');
    list.textContent = '';
    show(box, false);
    if (!q) {
      showErrors([{ field: 'address', message: 'Skriv inn adressen først' }]);
      return;
    }
    api('GET', '/geocode?' + new URLSearchParams({ q: q, limit: '5' }).toString()).then(function (r) {
      if (r.status !== 200) {
        announce('Fant ikke adressen (' + describeStatus(r) + '). Klikk i kartet eller skriv inn koordinatene.');
        return;
      }
      var found = r.data.candidates || [];
      if (!found.length) {
        announce('Fant ingen adresse som passer. Klikk i kartet eller skriv inn koordinatene.');
        return;
      }
      if (found.length === 1 || (found[0].match_kind === 'exact' && found[0].score === 1 &&
          !(found[1] && found[1].score === 1))) {
        setPosition(found[0].lat, found[0].lon, found[0].address);
        return;
      }
      found.forEach(function (c) {
        var li = document.createElement('li');
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'gp-secondary';
        b.textContent = c.address + (c.postnummer ? ', ' + c.postnummer : '') + (c.poststed ? ' ' + c.poststed : '');
        b.addEventListener('click', function () {
          show(box, false);
          setPosition(c.lat, c.lon, c.address);
          focus($('f-lat'));
        });
        li.appendChild(b);
        list.appendChild(li);
      });
      show(box, true);
      announce(found.length + ' adresser passer. Velg én i listen.');
      focus(list.querySelector('button'));
    });
  }

  function ensureMap() {
    if (state.map || !window.L) return;
    var el = $('gp-map');
    var b = el.getAttribute('data-bounds').split(',').map(Number);
    var map = window.L.map(el, { zoomControl: false, keyboard: true });
    window.L.control.zoom({ zoomInTitle: 'Zoom inn', zoomOutTitle: 'Zoom ut' }).addTo(map);
    map.attributionControl.setPrefix(false);
    window.L.tileLayer(el.getAttribute('data-tiles'), {
      attribution: el.getAttribute('data-attribution'),
      maxZoom: 20
    }).addTo(map);
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]]);
    map.on('click', function (ev) { setPosition(ev.latlng.lat, ev.latlng.lng); });
    state.map = map;
    placeMarker();
  }

  function placeMarker(pan) {
    var map = state.map;
    if (!map) return;
    var lat = parseFloat($('f-lat').value), lon = parseFloat($('f-lon').value);
    if (!isFinite(lat) || !isFinite(lon)) {
      if (state.marker) { map.removeLayer(state.marker); state.marker = null; }
      return;
    }
    if (!state.marker) {
      state.marker = window.L.circleMarker([lat, lon], {
        radius: 9, color: '#0b3d91', weight: 3, fillColor: '#ffd33d', fillOpacity: 1, interactive: false
      }).addTo(map);
    } else {
      state.marker.setLatLng([lat, lon]);
    }
    if (pan || !map.getBounds().contains([lat, lon])) map.panTo([lat, lon]);
  }

  // -- wiring ---------------------------------------------------------------------------------
  $('gp-login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var key = $('gp-key').value.trim();
    if (!key) {
      keyError('Skriv inn API-nøkkelen.');
      return focus($('gp-key'));
    }
    signIn(key, true);
  });
  $('gp-logout').addEventListener('click', function () { signOut(); });
  $('gp-new').addEventListener('click', openNew);
  $('gp-filter').addEventListener('submit', function (ev) {
    ev.preventDefault();
    state.offset = 0;
    $('gp-list-title').textContent = $('gp-all').checked ? 'Alle oppføringer' : 'Dine oppføringer';
    loadList().then(function () { announce($('gp-count').textContent); });
  });
  $('gp-prev').addEventListener('click', function () {
    state.offset = Math.max(0, state.offset - PAGE);
    loadList().then(function () { focus($('gp-list-title')); });
  });
  $('gp-next').addEventListener('click', function () {
    state.offset += PAGE;
    loadList().then(function () { focus($('gp-list-title')); });
  });
  $('gp-table').addEventListener('click', function (ev) {
    var b = ev.target.closest('button[data-edit]');
    if (b) openEdit(b.getAttribute('data-edit'));
  });
  $('gp-form').addEventListener('submit', save);
  $('gp-cancel').addEventListener('click', function () { showList(true); });
  $('gp-reload').addEventListener('click', reload);
  $('gp-withdraw').addEventListener('click', askWithdraw);
  $('gp-confirm-yes').addEventListener('click', withdraw);
  $('gp-confirm-no').addEventListener('click', function () {
    show($('gp-confirm'), false);
    focus($('gp-withdraw'));
  });
  $('gp-geocode').addEventListener('click', geocode);
  $('f-lat').addEventListener('change', function () { placeMarker(true); });
  $('f-lon').addEventListener('change', function () { placeMarker(true); });
  $('gp-summary').addEventListener('click', function (ev) {
    var a = ev.target.closest('a[data-goto]');
    if (!a) return;
    ev.preventDefault();
    var target = $(a.getAttribute('data-goto'));
    var first = target && target.tagName === 'FIELDSET'
      ? target.querySelector('input, select, textarea, button') : target;
    focus(first || target);
  });

  var saved = null;
  try { saved = window.sessionStorage.getItem(STORE); } catch (e) { /* ignore */ }
  if (saved) signIn(saved, false);
  else showLogin();
}());
