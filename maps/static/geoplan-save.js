/* "Lagre søket" on the served search map (maps/save_search.py).
 *
 * The button saves the search the page shows (its filters and drawn area, given by the page as
 * o.filters) with POST /premises/searches, then shows the saved search's stable link (a browser
 * following it lands on this map with the same filters), its Atom feed and a copy button.
 * What happens is said in the status line (role=status), refusals in words: too many saves
 * from this address (429, with when to try again), a filter the server refuses (422), no
 * connection. Plain ES5, no dependencies.
 */
(function (root) {
  'use strict';
  var geoplan = root.geoplan = root.geoplan || {};

  function minutes(seconds) {
    var m = Math.max(1, Math.ceil(seconds / 60));
    return m === 1 ? 'ett minutt' : m + ' minutter';
  }

  /* The refusal in words, from the problem+json body when there is one. */
  function refusal(status, body, retryAfter) {
    if (status === 429) {
      var wait = parseInt(retryAfter, 10);
      return 'Du har lagret mange søk den siste timen. Prøv igjen' +
        (wait > 0 ? ' om ' + minutes(wait) : ' senere') + '.';
    }
    if (status === 422 && body && body.errors && body.errors.length) {
      return 'Søket kunne ikke lagres: ' + body.errors.map(function (e) {
        return (e.field || '').replace(/^filters\./, '') + ': ' + e.message;
      }).join('; ') + '.';
    }
    var detail = body && (body.detail || body.title);
    return 'Søket kunne ikke lagres (feil ' + status + (detail ? ': ' + detail : '') + ').';
  }

  function copy(field, button) {
    var text = button.textContent;
    var done = function () {
      button.textContent = 'Kopiert';
      setTimeout(function () { button.textContent = text; }, 1500);
    };
    if (root.navigator.clipboard && root.isSecureContext) {
      root.navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      field.select();
      if (root.document.execCommand('copy')) { done(); }
    }
  }

  /* o: {filters: the search's filters (names as GET /premises), base: the API's address} */
  geoplan.saveSearch = function (map, o) {
    // the button is in the title panel, which page scripts add after this one: wire it after
    setTimeout(function () { wire(o); }, 0);
  };

  function wire(o) {
    var doc = root.document;
    var button = doc.getElementById('gp-save-search');
    if (!button || !root.fetch || !/^https?:$/.test(root.location.protocol)) { return; }
    var status = doc.getElementById('gp-save-status');
    var result = doc.getElementById('gp-saved');
    var link = doc.getElementById('gp-saved-link');
    var feed = doc.getElementById('gp-saved-feed');
    var say = function (text, error) {
      status.textContent = text;
      status.className = error ? 'gp-error' : '';
    };
    doc.getElementById('gp-saved-copy').addEventListener('click', function (e) {
      copy(link, e.currentTarget);
    });
    button.addEventListener('click', function () {
      button.disabled = true;
      say('Lagrer søket …');
      var answer;
      root.fetch((o.base || '') + '/premises/searches', {
        method: 'POST',
        headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
        body: JSON.stringify({filters: o.filters})
      }).then(function (r) {
        answer = r;
        return r.json().catch(function () { return null; });
      }).then(function (body) {
        button.disabled = false;
        if (!answer.ok || !body || !body.links) {
          result.hidden = true;
          say(refusal(answer.status, body, answer.headers.get('Retry-After')), true);
          return;
        }
        var href = function (rel) {
          for (var i = 0; i < body.links.length; i++) {
            if (body.links[i].rel === rel) { return body.links[i].href; }
          }
          return '';
        };
        link.value = href('self');
        feed.href = href('feed');
        result.hidden = false;
        say('Søket er lagret. Ta vare på lenken: den er eneste vei tilbake til søket.');
        link.focus();
        link.select();
      }, function () {
        button.disabled = false;
        say('Søket kunne ikke lagres: ingen forbindelse med tjenesten. Prøv igjen.', true);
      });
    });
  }
})(window);
