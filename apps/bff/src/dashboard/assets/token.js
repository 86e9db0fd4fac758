// The copy button of the new-token page: copies the token from its read-only field.
"use strict";

(function () {
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () {
      var id = button.getAttribute("data-copy");
      var field = document.getElementById(id);
      if (!field) {
        return;
      }
      var done = document.querySelector('[data-copied-for="' + id + '"]');
      var show = function () {
        if (done) {
          done.hidden = false;
        }
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(show, function () {
          field.select();
        });
      } else {
        // Without the clipboard API (an insecure context), select it for a manual copy.
        field.select();
      }
    });
  });
})();
