// Comfort only: every page works without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  // The team switcher submits on change; its button stays for keyboard and no-JS users.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
});
