// Live updates: the server says which apps changed; every part on the page
// that listens for "gw-change" fetches itself again (htmx swaps it in place).
// An app's drift log comes drawn in the stream ("drifts"), escaped by the
// server's templates, and is put in place before the change is announced.
(function () {
  "use strict";
  var url = document.body.dataset.stream;
  var badge = document.getElementById("live");
  if (!url || !window.EventSource) { return; }
  var source = new EventSource(url);
  source.addEventListener("open", function () { badge.classList.add("on"); });
  source.addEventListener("error", function () { badge.classList.remove("on"); });
  source.addEventListener("drifts", function (event) {
    var log = document.getElementById("drifts-body");
    if (log) { log.innerHTML = event.data; }
  });
  source.addEventListener("change", function () {
    document.body.dispatchEvent(new CustomEvent("gw-change"));
  });
})();
