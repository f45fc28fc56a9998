// The office's box editor: a drag on a photo draws the box a model missed. It fills the
// photo's review form's "add a box" fields with fractions of the photo (left, top, right,
// bottom) and shows the box as a draft; the reviewer picks its class and saves the review.
// Plain script, no library; the form works without it (the fields can be typed by hand).
(function () {
  "use strict";

  var MIN_SIDE = 0.002; // The smallest box side a review accepts (office/wire review.rs).

  function clamp01(v) {
    return Math.min(1, Math.max(0, v));
  }

  function round4(v) {
    return Math.round(v * 10000) / 10000;
  }

  function attach(form) {
    var section = form.closest("section.photo");
    var frame = section && section.querySelector(".frame");
    var img = frame && frame.querySelector("img");
    var draft = frame && frame.querySelector("svg.draft");
    var rect = draft && draft.querySelector("rect");
    var fields = ["x1", "y1", "x2", "y2"].map(function (k) {
      return form.querySelector('input[name="new_' + k + '"]');
    });
    if (!img || !rect || fields.some(function (f) { return !f; })) {
      return;
    }
    var start = null;

    function at(event) {
      var r = img.getBoundingClientRect();
      if (r.width <= 0 || r.height <= 0) {
        return null;
      }
      return [clamp01((event.clientX - r.left) / r.width), clamp01((event.clientY - r.top) / r.height)];
    }

    function box(a, b) {
      return [
        round4(Math.min(a[0], b[0])), round4(Math.min(a[1], b[1])),
        round4(Math.max(a[0], b[0])), round4(Math.max(a[1], b[1]))
      ];
    }

    function show(b) {
      rect.setAttribute("x", String(b[0] * 1000));
      rect.setAttribute("y", String(b[1] * 1000));
      rect.setAttribute("width", String((b[2] - b[0]) * 1000));
      rect.setAttribute("height", String((b[3] - b[1]) * 1000));
      draft.classList.add("shown");
    }

    frame.classList.add("drawable");
    img.addEventListener("dragstart", function (event) {
      event.preventDefault();
    });
    frame.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) {
        return;
      }
      start = at(event);
      if (start) {
        event.preventDefault();
        frame.setPointerCapture(event.pointerId);
      }
    });
    frame.addEventListener("pointermove", function (event) {
      var here = start && at(event);
      if (here) {
        show(box(start, here));
      }
    });
    frame.addEventListener("pointerup", function (event) {
      var from = start;
      var here = from && at(event);
      start = null;
      if (!here) {
        return;
      }
      var b = box(from, here);
      if (b[2] - b[0] < MIN_SIDE || b[3] - b[1] < MIN_SIDE) {
        draft.classList.remove("shown");
        return;
      }
      show(b);
      fields.forEach(function (field, i) {
        field.value = String(b[i]);
      });
    });
    frame.addEventListener("pointercancel", function () {
      start = null;
    });
    // Typed by hand: the draft follows the fields.
    fields.forEach(function (field) {
      field.addEventListener("input", function () {
        var v = fields.map(function (f) {
          var text = f.value.trim().replace(",", ".");
          var pct = text.endsWith("%");
          var n = parseFloat(pct ? text.slice(0, -1) : text);
          return pct ? n / 100 : n;
        });
        if (v.every(function (n) { return isFinite(n) && n >= 0 && n <= 1; }) && v[0] < v[2] && v[1] < v[3]) {
          show(v);
        } else {
          draft.classList.remove("shown");
        }
      });
    });
  }

  document.querySelectorAll("form.review[data-photo]").forEach(attach);
})();
