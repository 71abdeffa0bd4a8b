/* Comments on selected words (templates/drafting/comments/_new_form.html).
 *
 * Without JavaScript the form asks for the passage to be typed or pasted. With it,
 * selecting words in the text (an element with data-comment-source: the letter on its
 * page and on the invitation page, or the editor's textarea) shows a "Comment on the
 * selection" button; it copies the words, with a little text either side so that the
 * server can tell repeated phrases apart, into the form and moves to the comment field.
 * In the editor (data-comment-async) the form is posted in the background, so that the
 * text being edited stays on the page. Passages that comments are about are marked in
 * the letter's text, across its markup.
 */
(function () {
  "use strict";

  var CONTEXT = 60;
  var form = document.querySelector("[data-comment-form]");
  var sources = Array.prototype.slice.call(document.querySelectorAll("[data-comment-source]"));
  var editor = document.querySelector("textarea[data-editor]");
  if (form && editor) { sources.push(editor); }

  function field(name) { return form.querySelector("[data-comment-" + name + "]"); }

  // --- What is selected -------------------------------------------------------------
  function textareaSelection(area) {
    var start = area.selectionStart, end = area.selectionEnd;
    if (start === end) { return null; }
    var value = area.value;
    return {
      quote: value.slice(start, end),
      prefix: value.slice(Math.max(0, start - CONTEXT), start),
      suffix: value.slice(end, end + CONTEXT),
      node: area
    };
  }

  function documentSelection() {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) { return null; }
    var range = selection.getRangeAt(0);
    for (var i = 0; i < sources.length; i++) {
      var source = sources[i];
      if (source.tagName === "TEXTAREA") { continue; }
      if (!source.contains(range.startContainer) || !source.contains(range.endContainer)) { continue; }
      var before = document.createRange();
      before.selectNodeContents(source);
      before.setEnd(range.startContainer, range.startOffset);
      var after = document.createRange();
      after.selectNodeContents(source);
      after.setStart(range.endContainer, range.endOffset);
      var quote = selection.toString();
      if (!quote.trim()) { return null; }
      var prefix = before.toString(), suffix = after.toString();
      return {
        quote: quote,
        prefix: prefix.slice(Math.max(0, prefix.length - CONTEXT)),
        suffix: suffix.slice(0, CONTEXT),
        node: range
      };
    }
    return null;
  }

  function currentSelection() {
    var active = document.activeElement;
    if (active && active.tagName === "TEXTAREA" && sources.indexOf(active) >= 0) {
      return textareaSelection(active);
    }
    return documentSelection();
  }

  // --- The button that takes the selection into the form ----------------------------------
  if (form && sources.length) {
    var button = document.querySelector("[data-comment-selection]");
    var chosen = null;

    var place = function () {
      var found = currentSelection();
      if (!found) { button.hidden = true; return; }
      chosen = found;
      var box = found.node.getBoundingClientRect();
      button.hidden = false;
      button.style.position = "absolute";
      button.style.top = (window.scrollY + box.bottom + 6) + "px";
      button.style.left = (window.scrollX + Math.max(8, Math.min(box.left, window.innerWidth - 240))) + "px";
    };
    document.addEventListener("mouseup", function (event) {
      if (event.target !== button) { window.setTimeout(place, 0); }
    });
    document.addEventListener("keyup", function (event) {
      if (event.shiftKey || event.key === "Shift") { place(); }
    });
    button.addEventListener("mousedown", function (event) { event.preventDefault(); });
    button.addEventListener("click", function () {
      if (!chosen) { return; }
      field("quote").value = chosen.quote;
      field("prefix").value = chosen.prefix;
      field("suffix").value = chosen.suffix;
      button.hidden = true;
      var body = field("body");
      body.scrollIntoView({ block: "center" });
      body.focus();
    });
  }

  // --- In the editor: post without leaving the page ------------------------------------
  if (form && form.hasAttribute("data-comment-async") && window.fetch) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = field("status");
      status.textContent = "Sending…";
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.text();
        })
        .then(function (page) {
          var doc = new DOMParser().parseFromString(page, "text/html");
          var flash = doc.querySelector(".flash");
          var failed = flash && /flash-error/.test(flash.className);
          status.textContent = flash ? flash.textContent.trim() : "Your comment is added.";
          if (!failed) { field("body").value = ""; field("quote").value = ""; }
        })
        .catch(function () { status.textContent = "The comment could not be sent; please try again."; });
    });
  }

  // --- Mark the passages that comments are about -------------------------------------------
  // Each passage is looked for in the text as the reader sees it (its text nodes joined),
  // by its words (data-comment-words: the server leaves out Markdown's markup and link
  // targets) with anything but words between them, so that a passage across markup (part
  // bold, across a link, over two paragraphs) is found; it is marked piece by piece, each
  // text node's part in an element of its own. The first piece outside any link is the
  // link to the thread; the others (and pieces inside the letter's own links, where a link
  // cannot go) are spans that lead there when clicked.
  var text = document.querySelector("[data-comment-source]:not(textarea)");
  if (!text) { return; }

  // The letter's text only: not its title, nor a note under it (data-comment-ignore),
  // as the server counts occurrences in the body alone.
  var ofTheText = {
    acceptNode: function (node) {
      return node.parentElement.closest("[data-comment-ignore]") ?
        NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
    }
  };

  function joinedText() {
    var walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT, ofTheText);
    var pieces = [], whole = "", node;
    while ((node = walker.nextNode())) {
      pieces.push({ node: node, start: whole.length });
      whole += node.data;
    }
    return { pieces: pieces, whole: whole };
  }

  function escaped(word) { return word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  // The (skip+1)-th occurrence of the words, counted as the server counts them
  // (signon.drafting.anchors.occurrences_before): one after another, not overlapping.
  function findWords(whole, words, skip) {
    var pattern = new RegExp(words.map(escaped).join("[^\\p{L}\\p{N}]*?"), "giu");
    var match;
    while ((match = pattern.exec(whole))) {
      if (skip === 0) { return [match.index, match.index + match[0].length]; }
      skip -= 1;
      if (!match[0].length) { pattern.lastIndex += 1; }
    }
    return null;
  }

  function insideLink(node) {
    return node.parentElement && node.parentElement.closest("a") !== null;
  }

  function mark(threadId, span) {
    var joined = joinedText();
    var parts = [];
    joined.pieces.forEach(function (piece) {
      var from = Math.max(span[0], piece.start) - piece.start;
      var to = Math.min(span[1], piece.start + piece.node.data.length) - piece.start;
      if (from < to && piece.node.data.slice(from, to).trim()) {
        parts.push({ node: piece.node, from: from, to: to });
      }
    });
    var linked = false;
    parts.forEach(function (part) {
      var asLink = !linked && !insideLink(part.node);
      var element = document.createElement(asLink ? "a" : "span");
      element.className = "comment-mark";
      element.title = "Comments on these words";
      element.setAttribute("data-comment-mark-of", threadId);
      if (asLink) {
        linked = true;
        element.href = "#thread-" + threadId;
      }
      var range = document.createRange();
      range.setStart(part.node, part.from);
      range.setEnd(part.node, part.to);
      range.surroundContents(element);
    });
  }

  var quotes = document.querySelectorAll("[data-comment-quote-of]");
  Array.prototype.forEach.call(quotes, function (quote) {
    var words = (quote.getAttribute("data-comment-words") || "").split(" ").filter(Boolean);
    if (!words.length) { return; }
    var skip = parseInt(quote.getAttribute("data-comment-occurrence") || "0", 10);
    var span = findWords(joinedText().whole, words, skip);
    if (span) { mark(quote.getAttribute("data-comment-quote-of"), span); }
  });

  // A piece that is not the link (inside one of the letter's links, or after the first
  // piece) leads to its thread too.
  text.addEventListener("click", function (event) {
    var piece = event.target.closest && event.target.closest("span.comment-mark");
    if (!piece || event.target.closest("a")) { return; }
    window.location.hash = "thread-" + piece.getAttribute("data-comment-mark-of");
  });
})();
