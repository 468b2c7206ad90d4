// Comfort only: every page works without JavaScript.
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", function () {
  "use strict";

  // The phone menu: without script the "Menu" link opens it through #menu (CSS :target); with
  // script it is a real toggle button that says whether the menu is open.
  var toggle = document.querySelector("[data-menu-toggle]");
  var menu = document.getElementById("menu");
  if (toggle && menu) {
    toggle.setAttribute("role", "button");
    toggle.setAttribute("aria-expanded", "false");
    var setOpen = function (open) {
      menu.classList.toggle("is-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    };
    toggle.addEventListener("click", function (event) {
      event.preventDefault();
      setOpen(!menu.classList.contains("is-open"));
    });
    toggle.addEventListener("keydown", function (event) {
      if (event.key === " ") { event.preventDefault(); setOpen(!menu.classList.contains("is-open")); }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.classList.contains("is-open")) { setOpen(false); toggle.focus(); }
    });
  }

  // Dropdowns (<details data-dropdown>) close on Escape and on a click elsewhere.
  var dropdowns = Array.prototype.slice.call(document.querySelectorAll("details[data-dropdown]"));
  document.addEventListener("click", function (event) {
    dropdowns.forEach(function (d) { if (d.open && !d.contains(event.target)) { d.open = false; } });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    dropdowns.forEach(function (d) {
      if (d.open) { d.open = false; d.querySelector("summary").focus(); }
    });
  });
  dropdowns.forEach(function (d) {
    d.addEventListener("toggle", function () {
      if (d.open) { dropdowns.forEach(function (other) { if (other !== d) { other.open = false; } }); }
    });
  });

  // A form came back with errors: take the keyboard and screen reader to the summary.
  var summary = document.querySelector("[data-error-summary]");
  if (summary && document.activeElement !== summary) { summary.focus(); }

  // Selects that submit on change; their buttons stay for keyboard and no-JS users.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Copy buttons: data-copy-target names the element whose text goes to the clipboard;
  // data-copy-status names the element (next to this button) that says it worked.
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var label = button.textContent;
    var timer = null;
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy-target"));
      var status = document.getElementById(button.getAttribute("data-copy-status") || "") ||
        button.parentElement.querySelector(".copy-status");
      if (!target) { return; }
      var text = "value" in target && target.value !== undefined ? target.value : target.textContent;
      var done = function (ok) {
        if (status) { status.textContent = ok ? "Copied." : "Select the text and copy it with Ctrl+C."; }
        if (ok) { button.textContent = "Copied"; }
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          button.textContent = label;
          if (status) { status.textContent = ""; }
        }, 2500);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(
          function () { done(true); },
          function () { if (target.select) { target.select(); } done(false); }
        );
      } else if (target.select) {
        target.select();
        done(document.execCommand("copy"));
      }
    });
  });

  // The shown-once token box grows to show the whole token (browsers without field-sizing).
  document.querySelectorAll("textarea[data-autosize]").forEach(function (area) {
    var fit = function () { area.style.height = "auto"; area.style.height = area.scrollHeight + 2 + "px"; };
    fit();
    window.addEventListener("resize", fit);
  });

  // The generate form follows the grant: the gateway login is for the password grant only.
  document.querySelectorAll("[data-grant-fields]").forEach(function (group) {
    var form = group.form || group.closest("form");
    var radios = form ? form.querySelectorAll("input[name=grant_type]") : [];
    var wanted = group.getAttribute("data-grant-fields");
    var sync = function () {
      var checked = form.querySelector("input[name=grant_type]:checked");
      var on = !checked || checked.value === wanted;
      group.hidden = !on;
      group.disabled = !on;
    };
    Array.prototype.forEach.call(radios, function (r) { r.addEventListener("change", sync); });
    sync();
  });

  // Bulk revoke: "select all", a count, and no submit with nothing selected.
  document.querySelectorAll("form[data-bulk]").forEach(function (form) {
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=issuances]"));
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector("[data-bulk-count]");
    var button = form.querySelector("[data-bulk-submit]");
    var update = function () {
      var n = boxes.filter(function (b) { return b.checked; }).length;
      if (count) { count.textContent = n ? n + " selected" : "None selected"; }
      if (button) { button.setAttribute("aria-disabled", n ? "false" : "true"); }
      if (all) {
        all.checked = n > 0 && n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      }
    };
    if (all) {
      all.closest("[hidden]") && all.closest("[hidden]").removeAttribute("hidden");
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    form.addEventListener("submit", function (event) {
      if (!boxes.some(function (b) { return b.checked; })) {
        event.preventDefault();
        if (count) { count.textContent = "Select the tokens to revoke first."; }
        if (boxes.length) { boxes[0].focus(); }
      }
    });
    update();
  });

  // Slow upstream calls: show progress and prevent a second click (the server also ignores a
  // double submit through the form's idempotency key).
  document.querySelectorAll("form[data-busy-form]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("[data-busy-label]");
      if (button) {
        button.disabled = true;
        button.textContent = button.getAttribute("data-busy-label");
      }
      var note = form.querySelector(".busy-note");
      if (note) { note.textContent = "Waiting for the gateway. This can take a few seconds."; }
      form.setAttribute("aria-busy", "true");
    });
  });
});
