// Optional phone-camera scanning for the check-in page (progressive enhancement): only when
// the browser has the BarcodeDetector API. Without it, the page works with typing or a USB
// scanner, which types the code and presses Enter.
(function () {
  "use strict";
  var form = document.getElementById("checkin-form");
  var input = document.getElementById("id_secret");
  if (!form || !input) { return; }
  input.focus();
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }

  var box = document.getElementById("camera");
  var video = document.getElementById("camera-video");
  var button = document.createElement("button");
  button.type = "button";
  button.className = "button button-secondary";
  button.textContent = form.dataset.cameraLabel;
  form.appendChild(button);
  var stream = null;
  var detector = null;

  function stop() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    box.hidden = true;
    button.textContent = form.dataset.cameraLabel;
  }

  function scan() {
    if (!stream) { return; }
    detector.detect(video).then(function (codes) {
      var code = codes.find(function (c) { return c.format === "qr_code" && c.rawValue; });
      if (code) {
        input.value = code.rawValue;
        stop();
        form.submit();
        return;
      }
      window.requestAnimationFrame(scan);
    }).catch(function () { window.setTimeout(scan, 250); });
  }

  button.addEventListener("click", function () {
    if (stream) { stop(); input.focus(); return; }
    detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        box.hidden = false;
        button.textContent = form.dataset.cameraStop;
        return video.play();
      })
      .then(scan)
      .catch(function () { stop(); window.alert(form.dataset.cameraError); });
  });
}());
