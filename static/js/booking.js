// Progressive enhancement for the booking form: the payment choice only matters when at
// least one attendee has a paid ticket, so hide it otherwise. Without JavaScript the
// choice is simply always shown; the server ignores it for free bookings.
(function () {
  "use strict";
  var section = document.getElementById("payment-section");
  var form = section && section.closest("form");
  if (!form) { return; }
  var paid = (section.getAttribute("data-paid-ticket-types") || "").split(",").filter(Boolean);

  function update() {
    var selects = form.querySelectorAll("select[name$='-ticket_type']");
    var anyPaid = Array.prototype.some.call(selects, function (select) {
      return paid.indexOf(select.value) !== -1;
    });
    section.hidden = !anyPaid;
  }

  form.addEventListener("change", function (event) {
    if (event.target.name && /-ticket_type$/.test(event.target.name)) { update(); }
  });
  update();
})();
