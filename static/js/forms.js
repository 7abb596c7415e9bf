// Move keyboard and screen-reader focus to the error summary after a failed submit, so the
// list of problems (with links to each field) is the first thing read. Without JavaScript the
// summary is still at the top of the page and announced through role="alert".
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
