// Comfort only: every page works without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  // The team switcher and credential picker submit on change; their buttons stay for keyboard
  // and no-JS users.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Copy buttons: data-copy-target names the element whose text goes to the clipboard.
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy-target"));
      if (!target) { return; }
      var text = "value" in target && target.value !== undefined ? target.value : target.textContent;
      var status = button.parentElement.querySelector(".copy-status");
      var done = function (message) {
        if (status) { status.textContent = message; }
        button.textContent = message === "Copied." ? "Copied" : button.textContent;
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(
          function () { done("Copied."); },
          function () { if (target.select) { target.select(); } done("Select the text and copy it with Ctrl+C."); }
        );
      } else if (target.select) {
        target.select();
        document.execCommand("copy");
        done("Copied.");
      }
    });
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
