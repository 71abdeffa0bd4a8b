/* @mention autocomplete in comment fields (a textarea with data-mentions="<the team's URL>").
 *
 * Typing @ and the start of a name lists the letter's team (fetched once, from
 * GET /letters/<slug>/comments/people) under the field, following the combobox pattern
 * of the WAI-ARIA Authoring Practices with a list popup: the field keeps the focus and
 * says which option is active (aria-activedescendant, aria-autocomplete="list",
 * aria-controls); Down and Up move through the people, Enter or Tab writes the chosen
 * one's handle, Escape closes the list and leaves the text as typed; a click chooses too.
 * How many people match is said through a polite status message. The textarea keeps its
 * own role (ARIA in HTML allows no combobox role on a textarea, nor aria-expanded on a
 * textbox). Without JavaScript, @name is typed by hand and works the same.
 */
(function () {
  "use strict";

  var fields = document.querySelectorAll("textarea[data-mentions]");
  if (!fields.length || !window.fetch) { return; }

  var MAX_SHOWN = 8;
  // The @ and what follows it up to the caret (as the server reads a mention).
  var TYPED = /(?:^|[^\p{L}\p{N}_@])@([\p{L}\p{N}][\p{L}\p{N}_.\-]*)?$/u;
  var people = null;
  var loading = null;

  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  document.body.appendChild(status);

  function load(url) {
    if (!loading) {
      loading = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { people: [] }; })
        .then(function (data) { people = data.people || []; return people; })
        .catch(function () { people = []; return people; });
    }
    return loading;
  }

  function matching(query) {
    var wanted = query.toLocaleLowerCase();
    return people.filter(function (person) {
      if (!wanted) { return true; }
      if (person.handle.toLocaleLowerCase().indexOf(wanted) === 0) { return true; }
      return person.name.toLocaleLowerCase().split(/\s+/).some(function (word) {
        return word.indexOf(wanted) === 0;
      });
    }).slice(0, MAX_SHOWN);
  }

  Array.prototype.forEach.call(fields, function (field, index) {
    var list = document.createElement("ul");
    list.id = (field.id || "comment-field-" + index) + "-mentions";
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "People on the team");
    list.hidden = true;
    field.insertAdjacentElement("afterend", list);
    field.setAttribute("aria-autocomplete", "list");
    field.setAttribute("aria-controls", list.id);

    var shown = [];
    var active = -1;
    var typed = null; // {start, end}: the @ and the letters after it

    function close() {
      list.hidden = true;
      list.textContent = "";
      shown = [];
      active = -1;
      typed = null;
      field.removeAttribute("aria-activedescendant");
    }

    function activate(position) {
      active = position;
      Array.prototype.forEach.call(list.children, function (option, i) {
        option.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      if (active >= 0) {
        field.setAttribute("aria-activedescendant", list.children[active].id);
        list.children[active].scrollIntoView({ block: "nearest" });
      } else {
        field.removeAttribute("aria-activedescendant");
      }
    }

    function choose(position) {
      var person = shown[position];
      if (!person || !typed) { return; }
      var value = field.value;
      var text = "@" + person.handle + " ";
      field.value = value.slice(0, typed.start) + text + value.slice(typed.end);
      var caret = typed.start + text.length;
      field.setSelectionRange(caret, caret);
      close();
      status.textContent = person.name + " mentioned.";
      field.focus();
    }

    function render(found) {
      list.textContent = "";
      shown = found;
      found.forEach(function (person, i) {
        var option = document.createElement("li");
        option.id = list.id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.className = "mention-option";
        option.textContent = person.name + " ";
        var handle = document.createElement("span");
        handle.className = "muted";
        handle.textContent = "@" + person.handle;
        option.appendChild(handle);
        option.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus (and the caret) in the field
          choose(i);
        });
        list.appendChild(option);
      });
      list.hidden = !found.length;
      activate(found.length ? 0 : -1);
      status.textContent = found.length ?
        (found.length === 1 ? "1 person" : found.length + " people") +
          " on the team: Up and Down to choose, Enter to write, Escape to close." :
        "Nobody on the team by that name.";
    }

    function update() {
      var caret = field.selectionStart;
      if (caret !== field.selectionEnd) { close(); return; }
      var match = TYPED.exec(field.value.slice(0, caret));
      if (!match) { close(); return; }
      var query = match[1] || "";
      typed = { start: caret - query.length - 1, end: caret };
      load(field.getAttribute("data-mentions")).then(function () {
        if (typed && typed.end === field.selectionStart) { render(matching(query)); }
      });
    }

    field.addEventListener("input", update);
    field.addEventListener("click", update);
    field.addEventListener("blur", close);
    field.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        var step = event.key === "ArrowDown" ? 1 : -1;
        activate((active + step + shown.length) % shown.length);
      } else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    field.addEventListener("keyup", function (event) {
      if (event.key === "ArrowLeft" || event.key === "ArrowRight" ||
          event.key === "Home" || event.key === "End") { update(); }
    });
  });
})();
