// The escalation queue keeps itself current: the server says on /staff/queue/events when the
// queue changed (server-sent events), and the page fetches the queue again, as HTML the server
// escaped. While a worker types a note in the queue, the refresh waits until she leaves it, and
// notes she started are kept.
(function () {
  "use strict";
  var root = document.getElementById("queue");
  var live = document.getElementById("queue-live");
  if (!root || !live || !window.EventSource || !window.fetch) {
    return;
  }
  var version = root.getAttribute("data-version");
  var pending = false;
  var loading = false;
  // Waiting times and SLA countdowns move on by themselves: redraw them now and then.
  var REDRAW_MS = 60000;

  function busy() {
    var active = document.activeElement;
    return Boolean(active && root.contains(active) && active.tagName === "TEXTAREA");
  }

  function startedNotes() {
    var kept = {};
    var notes = root.querySelectorAll("textarea");
    for (var i = 0; i < notes.length; i++) {
      if (notes[i].value !== "") {
        kept[notes[i].id] = notes[i].value;
      }
    }
    return kept;
  }

  function restore(kept) {
    Object.keys(kept).forEach(function (id) {
      var note = document.getElementById(id);
      if (note && root.contains(note)) {
        note.value = kept[id];
      }
    });
  }

  function refresh(announce) {
    if (busy() || loading) {
      pending = true;
      return;
    }
    loading = true;
    pending = false;
    var failed = false;
    fetch(root.getAttribute("data-fragment"), {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      cache: "no-store",
    })
      .then(function (response) {
        if (response.redirected || response.status === 401 || response.status === 403) {
          window.location.reload(); // signed out meanwhile: the sign-in page says so
          return null;
        }
        if (!response.ok) {
          return null;
        }
        var drawnAt = response.headers.get("X-Queue-Version");
        return response.text().then(function (html) {
          var kept = startedNotes();
          root.innerHTML = html;
          restore(kept);
          if (drawnAt) {
            version = drawnAt;
            root.setAttribute("data-version", drawnAt);
          }
          if (announce) {
            live.textContent = live.getAttribute("data-updated");
          }
        });
      })
      .catch(function () {
        failed = true;
      })
      .then(function () {
        loading = false;
        if (failed) {
          pending = true; // the next event or redraw tries again
        } else if (pending && !busy()) {
          // The queue changed while this fetch was under way: what it drew may be older than
          // that change, so fetch again now rather than at the next event or the redraw.
          refresh(true);
        }
      });
  }

  root.addEventListener("focusout", function () {
    window.setTimeout(function () {
      if (pending) {
        refresh(true);
      }
    }, 0);
  });

  var events = new EventSource(root.getAttribute("data-events"));
  events.addEventListener("queue", function (event) {
    if (event.data !== version) {
      refresh(true);
    }
  });
  events.addEventListener("open", function () {
    live.textContent = live.getAttribute("data-live");
  });
  events.addEventListener("error", function () {
    live.textContent = live.getAttribute("data-offline"); // EventSource reconnects by itself
  });
  window.setInterval(function () {
    refresh(false);
  }, REDRAW_MS);
})();
