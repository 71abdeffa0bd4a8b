/* Signon's Markdown editor: progressive enhancement of every <textarea data-editor>.
 *
 * Without JavaScript the textarea is an ordinary form field and the form still works.
 * With it, each editor gets:
 *   - a toolbar (Heading, Bold, Italic, lists, Link, Quote) with keyboard shortcuts;
 *     edits go through document.execCommand("insertText") so the browser's undo works;
 *   - a live preview rendered by the server (POST to data-preview-url, CSRF header);
 *   - paste from Word, Google Docs, LibreOffice and web pages as Markdown (vendored
 *     turndown), typed bullets dropped; a paste one Enter under a paragraph starts its own;
 *   - a word and character counter, and a warning before leaving with unsaved changes;
 *   - with data-editor-draft, unsaved text kept in this browser (localStorage) and
 *     offered back on the next visit: a session that ended loses nothing typed.
 * static/js/live.js binds an editor to a shared live document: it sets editor.live, and
 * while editor.live.shared() is true the text is kept by the server (no browser draft,
 * no warning before leaving, no "someone else saved" notice: the others' changes arrive).
 *
 * Plain ES2018, no build step, no inline code or handlers (CSP: script-src 'self').
 * The markup comes from templates/_macros/editor.html; missing parts are created here.
 */
(function () {
  "use strict";

  if (window.SignonEditor) { return; } // the macro may include this file more than once

  var IS_MAC = /Mac|iPhone|iPad|iPod/.test(navigator.platform || navigator.userAgent || "");
  var PREVIEW_DELAY_MS = 400;
  var editors = [];

  // ---------------------------------------------------------------------------------
  // Editing the text: one undoable change at a time.

  /** Replace value[start, end) by text as one undoable edit, then select [selStart, selEnd). */
  function replaceRange(ta, start, end, text, selStart, selEnd) {
    var old = ta.value.slice(start, end);
    // Touch only what changes, so the undo step and the caret stay small and tidy.
    var max = Math.min(old.length, text.length);
    var prefix = 0;
    while (prefix < max && old.charCodeAt(prefix) === text.charCodeAt(prefix)) { prefix++; }
    if (prefix > 0 && isHighSurrogate(old.charCodeAt(prefix - 1))) { prefix--; }
    var suffix = 0;
    while (suffix < max - prefix &&
           old.charCodeAt(old.length - 1 - suffix) === text.charCodeAt(text.length - 1 - suffix)) {
      suffix++;
    }
    if (suffix > 0 && isLowSurrogate(old.charCodeAt(old.length - suffix))) { suffix--; }
    var from = start + prefix;
    var to = end - suffix;
    var insert = text.slice(prefix, text.length - suffix);
    if (from !== to || insert) {
      ta.focus();
      ta.setSelectionRange(from, to);
      var done = false;
      try {
        done = insert ? document.execCommand("insertText", false, insert)
                      : document.execCommand("delete", false);
      } catch (e) {
        done = false;
      }
      if (!done) { // no execCommand: the edit works, only the browser's undo misses it
        ta.setRangeText(insert, from, to, "end");
        ta.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }
    ta.focus();
    ta.setSelectionRange(selStart, selEnd);
  }

  function isHighSurrogate(code) { return code >= 0xd800 && code <= 0xdbff; }
  function isLowSurrogate(code) { return code >= 0xdc00 && code <= 0xdfff; }
  function isBlankLine(line) { return !/\S/.test(line); }
  function isWordChar(ch) { return !!ch && /[\p{L}\p{N}]/u.test(ch); }

  /** The word around the caret, as [start, end], or null. */
  function wordAround(value, index) {
    var start = index;
    var end = index;
    while (start > 0 && (isWordChar(value.charAt(start - 1)) ||
           (/['\u2019-]/.test(value.charAt(start - 1)) && isWordChar(value.charAt(start - 2))))) {
      start--;
    }
    while (end < value.length && (isWordChar(value.charAt(end)) ||
           (/['\u2019-]/.test(value.charAt(end)) && isWordChar(value.charAt(end + 1))))) {
      end++;
    }
    return start < end ? [start, end] : null;
  }

  /** The whole lines touched by the selection. */
  function lineBlock(value, start, end) {
    var from = start === 0 ? 0 : value.lastIndexOf("\n", start - 1) + 1;
    // A selection that ends at the very start of a line leaves that line alone.
    if (end > start && value.charAt(end - 1) === "\n") { end--; }
    var to = value.indexOf("\n", Math.max(end, from));
    if (to === -1) { to = value.length; }
    return { from: from, to: to, lines: value.slice(from, to).split("\n") };
  }

  /** Rewrite the selected lines with transform(lines, textBefore) -> lines. */
  function editLines(ta, transform) {
    var value = ta.value;
    var caret = ta.selectionStart === ta.selectionEnd;
    var block = lineBlock(value, ta.selectionStart, ta.selectionEnd);
    var fromEnd = block.to - ta.selectionEnd;
    var text = transform(block.lines, value.slice(0, block.from)).join("\n");
    var newTo = block.from + text.length;
    if (caret && block.lines.length === 1) { // keep the caret on the same word
      var pos = Math.max(block.from, Math.min(newTo, newTo - fromEnd));
      replaceRange(ta, block.from, block.to, text, pos, pos);
    } else {
      replaceRange(ta, block.from, block.to, text, block.from, newTo);
    }
  }

  var BULLET_RE = /^(\s*)[-*+](?:[ \t]+|$)/;
  var ORDERED_RE = /^(\s*)\d{1,9}[.)](?:[ \t]+|$)/;
  var ANY_LIST_RE = /^(\s*)(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)/;
  var QUOTE_RE = /^(\s*)>[ \t]?/;
  var HEADING_RE = /^(#{1,6})(?:[ \t]+|$)/;
  var BLOCK_PREFIX_RE = /^(?:[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+|>[ \t]?|#{1,6}[ \t]+))*/;

  function cycleHeading(ta) {
    editLines(ta, function (lines) {
      var items = lines.filter(function (l) { return !isBlankLine(l); });
      var match = HEADING_RE.exec(items[0] || "");
      var level = match ? match[1].length : 0;
      var next = level === 2 ? 3 : level === 3 ? 0 : level >= 4 ? 0 : 2; // none -> ## -> ### -> none
      var marker = next ? "#".repeat(next) + " " : "";
      if (!items.length) { return [marker]; }
      return lines.map(function (l) {
        return isBlankLine(l) ? l : marker + l.replace(HEADING_RE, "").replace(/^[ \t]+/, "");
      });
    });
  }

  function toggleBullets(ta) {
    editLines(ta, function (lines) {
      var items = lines.filter(function (l) { return !isBlankLine(l); });
      if (!items.length) { return ["- "]; }
      var all = items.every(function (l) { return BULLET_RE.test(l); });
      return lines.map(function (l) {
        if (isBlankLine(l)) { return l; }
        if (all) { return l.replace(BULLET_RE, "$1"); }
        return l.replace(ANY_LIST_RE, "$1").replace(/^(\s*)/, "$1- ");
      });
    });
  }

  function toggleNumbers(ta) {
    editLines(ta, function (lines, before) {
      var items = lines.filter(function (l) { return !isBlankLine(l); });
      // Continue a numbered list that ends just above.
      var previous = /^(\s*)(\d{1,9})[.)][ \t]/.exec(before.replace(/\n$/, "").split("\n").pop());
      var first = previous && previous[1] === "" ? Number(previous[2]) + 1 : 1;
      if (!items.length) { return [first + ". "]; }
      var all = items.every(function (l) { return ORDERED_RE.test(l); });
      var baseIndent = /^\s*/.exec(items[0])[0].length;
      var counters = {};
      return lines.map(function (l) {
        if (isBlankLine(l)) { return l; }
        if (all) { return l.replace(ORDERED_RE, "$1"); }
        var indent = /^\s*/.exec(l)[0].length;
        Object.keys(counters).forEach(function (k) { if (Number(k) > indent) { delete counters[k]; } });
        var n = counters[indent] === undefined ? (indent === baseIndent ? first : 1) : counters[indent] + 1;
        counters[indent] = n;
        return l.replace(ANY_LIST_RE, "$1").replace(/^(\s*)/, "$1" + n + ". ");
      });
    });
  }

  function toggleQuote(ta) {
    editLines(ta, function (lines) {
      var items = lines.filter(function (l) { return !isBlankLine(l); });
      if (!items.length) { return ["> "]; }
      var all = items.every(function (l) { return QUOTE_RE.test(l); });
      return lines.map(function (l) {
        if (all) { return l.replace(QUOTE_RE, "$1"); }
        return isBlankLine(l) ? ">" : "> " + l;
      });
    });
  }

  function runBefore(value, index, ch) {
    var n = 0;
    while (index - n - 1 >= 0 && value.charAt(index - n - 1) === ch) { n++; }
    return n;
  }

  function runAfter(value, index, ch) {
    var n = 0;
    while (value.charAt(index + n) === ch) { n++; }
    return n;
  }

  /** Does a run of n asterisks carry bold (size 2) or italic (size 1)? */
  function runHas(n, size) { return size === 2 ? n >= 2 : n === 1 || n >= 3; }

  /** Is text wrapped in the marker of this size (** or *, or _ for italic)? */
  function isWrapped(text, size) {
    var left = runAfter(text, 0, "*");
    var right = runBefore(text, text.length, "*");
    if (left < text.length && runHas(Math.min(left, right), size)) { return true; }
    return size === 1 && text.length > 2 && runAfter(text, 0, "_") === 1 &&
      runBefore(text, text.length, "_") === 1;
  }

  function unwrap(text, size) {
    if (size === 1 && text.charAt(0) === "_") { return text.slice(1, -1); }
    return text.slice(size, text.length - size);
  }

  function toggleInline(ta, size) {
    var marker = size === 2 ? "**" : "*";
    var value = ta.value;
    var s = ta.selectionStart;
    var e = ta.selectionEnd;
    if (s === e) {
      var word = wordAround(value, s);
      if (word) { s = word[0]; e = word[1]; }
    }
    // "**word **" is not bold: keep surrounding spaces outside the markers.
    while (s < e && /\s/.test(value.charAt(s))) { s++; }
    while (e > s && /\s/.test(value.charAt(e - 1))) { e--; }
    var selected = value.slice(s, e);
    if (selected.indexOf("\n") !== -1) { toggleInlineLines(ta, size); return; }
    // Markers just outside the selection: **|word|**
    var outside = Math.min(runBefore(value, s, "*"), runAfter(value, e, "*"));
    if (runHas(outside, size)) {
      replaceRange(ta, s - size, e + size, selected, s - size, e - size);
      return;
    }
    if (size === 1 && runBefore(value, s, "_") === 1 && runAfter(value, e, "_") === 1) {
      replaceRange(ta, s - 1, e + 1, selected, s - 1, e - 1);
      return;
    }
    // Markers inside the selection: |**word**|
    if (selected && isWrapped(selected, size)) {
      var inner = unwrap(selected, size);
      replaceRange(ta, s, e, inner, s, s + inner.length);
      return;
    }
    replaceRange(ta, s, e, marker + selected + marker, s + size, e + size);
  }

  /** Bold or italic over several lines: each non-empty line on its own (Markdown needs it). */
  function toggleInlineLines(ta, size) {
    var marker = size === 2 ? "**" : "*";
    editLines(ta, function (lines) {
      var parts = lines.map(function (line) {
        var prefix = BLOCK_PREFIX_RE.exec(line)[0];
        var rest = line.slice(prefix.length);
        var body = rest.trim();
        var lead = rest.slice(0, rest.indexOf(body.charAt(0)));
        return { prefix: prefix + (body ? lead : rest), body: body };
      });
      var items = parts.filter(function (p) { return p.body; });
      var all = items.length > 0 && items.every(function (p) { return isWrapped(p.body, size); });
      return parts.map(function (p) {
        if (!p.body) { return p.prefix; }
        if (all) { return p.prefix + unwrap(p.body, size); }
        return p.prefix + (isWrapped(p.body, size) ? p.body : marker + p.body + marker);
      });
    });
  }

  /** What people type as a link address, made into a URL the renderer accepts. */
  function normaliseUrl(raw) {
    var url = (raw || "").trim();
    if (!url || /^https?:\/\/$/i.test(url)) { return ""; }
    if (/^[^\s@/:]+@[^\s@/]+\.[^\s@/]+$/.test(url)) {
      url = "mailto:" + url;
    } else if (!/^(?:https?:|mailto:)/i.test(url) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
      url = "https://" + url.replace(/^\/+/, "");
    }
    return url.replace(/[\s<>()]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0");
    });
  }

  function insertLink(ta) {
    var value = ta.value;
    var s = ta.selectionStart;
    var e = ta.selectionEnd;
    if (s === e) {
      var word = wordAround(value, s);
      if (word) { s = word[0]; e = word[1]; }
    }
    while (s < e && /\s/.test(value.charAt(s))) { s++; }
    while (e > s && /\s/.test(value.charAt(e - 1))) { e--; }
    var selected = value.slice(s, e);
    var looksLikeUrl = /^(?:https?:\/\/|www\.|mailto:)\S+$/i.test(selected);
    var answer = window.prompt("Link address (a web address or an e-mail address):",
                               looksLikeUrl ? selected : "https://");
    var url = answer === null ? "" : normaliseUrl(answer);
    if (!url) { ta.focus(); return; }
    var text = selected.indexOf("\n") === -1 ? selected : selected.replace(/\s*\n\s*/g, " ");
    var placeholder = !text || looksLikeUrl;
    if (placeholder) { text = url.replace(/^(?:https?:\/\/|mailto:)/i, "").replace(/\/$/, ""); }
    var label = text.replace(/([[\]])/g, "\\$1");
    var markdown = "[" + label + "](" + url + ")";
    if (placeholder) { // select the link text so that typing replaces it
      replaceRange(ta, s, e, markdown, s + 1, s + 1 + label.length);
    } else {
      replaceRange(ta, s, e, markdown, s + markdown.length, s + markdown.length);
    }
  }

  /** Enter inside a list item or a quote starts the next one; on an empty item it ends the list. */
  function continueBlock(ta, event) {
    if (event.shiftKey || event.altKey || event.ctrlKey || event.metaKey || event.isComposing) {
      return;
    }
    var value = ta.value;
    var s = ta.selectionStart;
    if (s !== ta.selectionEnd) { return; }
    var from = s === 0 ? 0 : value.lastIndexOf("\n", s - 1) + 1;
    var line = value.slice(from, s);
    var match = /^(\s*)(?:([-*+])|(\d{1,9})([.)]))([ \t]+)/.exec(line) || /^(\s*>[ \t]?)/.exec(line);
    if (!match) { return; }
    event.preventDefault();
    var lineEnd = value.indexOf("\n", s);
    if (lineEnd === -1) { lineEnd = value.length; }
    if (isBlankLine(value.slice(from + match[0].length, lineEnd).replace(/^>/, ""))) {
      replaceRange(ta, from, lineEnd, "", from, from); // an empty item ends the list
      return;
    }
    var next;
    if (match.length === 2) {
      next = match[1];
    } else if (match[2]) {
      next = match[1] + match[2] + " ";
    } else {
      next = match[1] + (Number(match[3]) + 1) + match[4] + " ";
    }
    replaceRange(ta, s, s, "\n" + next, s + 1 + next.length, s + 1 + next.length);
  }

  // ---------------------------------------------------------------------------------
  // Paste: rich text (Word, Google Docs, web pages) to Markdown.

  var BLOCK_TAGS = /^(?:ADDRESS|ARTICLE|ASIDE|BLOCKQUOTE|BODY|DD|DIV|DL|DT|FIELDSET|FIGCAPTION|FIGURE|FOOTER|FORM|H[1-6]|HEADER|HR|LI|MAIN|NAV|OL|P|PRE|SECTION|TABLE|TBODY|TD|TFOOT|TH|THEAD|TR|UL)$/;
  var DROP_SELECTOR = "script,style,meta,link,title,template,noscript,iframe,object,embed,img," +
    "picture,video,audio,canvas,svg,math,button,input,select,textarea,head";
  var FORMATTING_SELECTOR = "p,h1,h2,h3,h4,h5,h6,ul,ol,li,blockquote,pre,code,table,strong,b," +
    "em,i,a[href],del,s,strike,br,hr";

  function unwrapElement(el) {
    var parent = el.parentNode;
    if (!parent) { return; }
    while (el.firstChild) { parent.insertBefore(el.firstChild, el); }
    parent.removeChild(el);
  }

  function renameElement(el, tag) {
    var replacement = el.ownerDocument.createElement(tag);
    while (el.firstChild) { replacement.appendChild(el.firstChild); }
    el.parentNode.replaceChild(replacement, el);
    return replacement;
  }

  function wrapContents(el, tag) {
    var wrapper = el.ownerDocument.createElement(tag);
    while (el.firstChild) { wrapper.appendChild(el.firstChild); }
    el.appendChild(wrapper);
  }

  function isBoldWeight(weight) {
    return weight === "bold" || weight === "bolder" || Number(weight) >= 600;
  }

  function isNormalWeight(weight) {
    return weight === "normal" || weight === "lighter" || (Number(weight) > 0 && Number(weight) < 600);
  }

  function removeComments(root) {
    var walker = (root.ownerDocument || root).createTreeWalker(root, NodeFilter.SHOW_COMMENT);
    var comments = [];
    while (walker.nextNode()) { comments.push(walker.currentNode); }
    comments.forEach(function (c) { c.parentNode.removeChild(c); });
  }

  // Bullets as typed characters: Symbol's "·" (or its private-use twin U+F0B7), "•",
  // Courier's "o", Wingdings' "§" (U+F0A7), squares, arrows and ticks.
  var BULLET_GLYPHS = "\u00b7\u2022\u25aa\u25a0\u25e6\u2023\u2043\u00a7\uf0b7\uf0a7\uf0d8\uf0fc\uf076o\\-\u2013";
  var TYPED_MARKER_RE = new RegExp("^[\\s\\u00a0]*([" + BULLET_GLYPHS + "]|\\(?(?:\\d+|[a-z]{1,2}|[ivxlcdm]+)[.)])[\\s\\u00a0]+", "i");
  // Without Word's list styles, only an unmistakable bullet makes a list item.
  var PLAIN_BULLET_RE = /^[\s\u00a0]*([\u00b7\u2022\u25aa\u25a0\u25e6\u00a7\uf0b7\uf0a7\uf0d8])[\s\u00a0]+\S/;

  function leadingTexts(p) {
    var walker = p.ownerDocument.createTreeWalker(p, NodeFilter.SHOW_TEXT);
    var texts = [];
    while (walker.nextNode()) { texts.push(walker.currentNode); }
    return texts;
  }

  /** Remove a bullet or number typed at the start of p (across spans); return it, or "". */
  function takeTypedMarker(p, pattern) {
    var texts = leadingTexts(p);
    var joined = texts.map(function (t) { return t.nodeValue; }).join("");
    var match = pattern.exec(joined);
    if (!match) { return ""; }
    var remove = pattern === PLAIN_BULLET_RE ? match[0].length - 1 : match[0].length;
    texts.forEach(function (t) {
      var cut = Math.min(remove, t.nodeValue.length);
      t.nodeValue = t.nodeValue.slice(cut);
      remove -= cut;
    });
    return match[1];
  }

  /** Word marks list paragraphs with mso-list styles and types the bullet or number itself. */
  function convertWordLists(body) {
    var items = [];
    Array.prototype.forEach.call(body.querySelectorAll("p"), function (p) {
      var style = p.getAttribute("style") || "";
      var levelMatch = /mso-list:\s*l\d+\s+level(\d+)/i.exec(style);
      var markerEl = null;
      Array.prototype.some.call(p.querySelectorAll("[style]"), function (el) {
        if (/mso-list:\s*ignore/i.test(el.getAttribute("style"))) { markerEl = el; return true; }
        return false;
      });
      var wordList = !!levelMatch || /MsoListParagraph/i.test(p.className);
      if (!wordList && p.closest("li")) { return; } // already in a list
      var typed = "";
      if (!markerEl) { // the marker typed as text: in a Word list paragraph, or a lone bullet
        typed = takeTypedMarker(p, wordList ? TYPED_MARKER_RE : PLAIN_BULLET_RE);
        if (!typed && !levelMatch) { return; }
      } else if (!wordList) {
        return;
      }
      var marker = markerEl ? markerEl.textContent.replace(/[\s\u00a0]+/g, "") : typed;
      var ordered = /^\(?(?:\d+|[a-z]{1,2}|[ivxlcdm]+)[.)]$/i.test(marker);
      var number = /^\(?(\d+)[.)]$/.exec(marker);
      var previous = p.previousElementSibling;
      items.push({
        p: p,
        marker: markerEl,
        level: levelMatch ? Number(levelMatch[1]) : 1,
        ordered: ordered,
        start: number ? Number(number[1]) : 1,
        continues: items.length > 0 && previous === items[items.length - 1].p
      });
    });
    var stack = [];
    items.forEach(function (item) {
      var doc = item.p.ownerDocument;
      if (!item.continues) { stack = []; }
      var top = stack[stack.length - 1];
      while (top && (top.level > item.level || (top.level === item.level && top.ordered !== item.ordered))) {
        stack.pop();
        top = stack[stack.length - 1];
      }
      if (!top || top.level < item.level) {
        var list = doc.createElement(item.ordered ? "ol" : "ul");
        if (item.ordered && item.start > 1) { list.setAttribute("start", String(item.start)); }
        if (top) {
          var parentItem = top.list.lastElementChild || top.list.appendChild(doc.createElement("li"));
          parentItem.appendChild(list);
        } else {
          item.p.parentNode.insertBefore(list, item.p);
        }
        top = { level: item.level, ordered: item.ordered, list: list };
        stack.push(top);
      }
      if (item.marker && item.marker.parentNode) { item.marker.parentNode.removeChild(item.marker); }
      var li = doc.createElement("li");
      while (item.p.firstChild) { li.appendChild(item.p.firstChild); }
      top.list.appendChild(li);
      item.p.parentNode.removeChild(item.p);
    });
  }

  /** Does anything but whitespace follow (after = true) or precede node inside its block? */
  function hasContentBeside(node, after) {
    var current = node;
    while (current && !BLOCK_TAGS.test(current.nodeName)) {
      var sibling = after ? current.nextSibling : current.previousSibling;
      while (sibling) {
        if (sibling.nodeType === 3 && /[^\s]/.test(sibling.nodeValue.replace(/\u00a0/g, " ")) ||
            sibling.nodeType === 1 && !BLOCK_TAGS.test(sibling.nodeName) &&
            /\S/.test(sibling.textContent.replace(/\u00a0/g, " "))) {
          return true;
        }
        if (sibling.nodeType === 1 && BLOCK_TAGS.test(sibling.nodeName)) { return false; }
        sibling = after ? sibling.nextSibling : sibling.previousSibling;
      }
      current = current.parentNode;
    }
    return false;
  }

  /** Trim non-breaking spaces at the start and end of a block (Word indents with them). */
  function trimBlockEdges(el) {
    var walker = el.ownerDocument.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    var texts = [];
    while (walker.nextNode()) { texts.push(walker.currentNode); }
    for (var i = 0; i < texts.length; i++) {
      texts[i].nodeValue = texts[i].nodeValue.replace(/^[\s\u00a0]+/, "");
      if (texts[i].nodeValue) { break; }
    }
    for (var j = texts.length - 1; j >= 0; j--) {
      texts[j].nodeValue = texts[j].nodeValue.replace(/[\s\u00a0]+$/, "");
      if (texts[j].nodeValue) { break; }
    }
  }

  /** Clean pasted HTML into plain semantic HTML: strong/em, lists, headings, links. */
  function cleanPastedHtml(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var body = doc.body;
    if (!body) { return null; }
    removeComments(doc);
    Array.prototype.forEach.call(body.querySelectorAll(DROP_SELECTOR), function (el) {
      if (el.parentNode) { el.parentNode.removeChild(el); }
    });
    // Office's namespaced tags: <o:p> (empty paragraph filler) and <v:*> drawings go,
    // others (<st1:place>, <w:sdt>) wrap real text and are unwrapped.
    Array.prototype.slice.call(body.getElementsByTagName("*")).forEach(function (el) {
      var name = el.nodeName.toLowerCase();
      if (name.indexOf(":") === -1) { return; }
      if (name === "o:p" || name.indexOf("v:") === 0) {
        if (el.parentNode) { el.parentNode.removeChild(el); }
      } else {
        unwrapElement(el);
      }
    });
    convertWordLists(body);
    // Word's leftover list markers on non-list paragraphs (numbered headings).
    Array.prototype.forEach.call(body.querySelectorAll("[style]"), function (el) {
      if (/mso-list:\s*ignore/i.test(el.getAttribute("style")) && el.parentNode) {
        el.parentNode.removeChild(el);
      }
    });
    Array.prototype.forEach.call(body.querySelectorAll("p.MsoTitle"), function (el) {
      renameElement(el, "h1");
    });
    // Google Docs wraps everything in <b style="font-weight:normal" id="docs-internal-guid-...">.
    Array.prototype.forEach.call(body.querySelectorAll("b,strong"), function (el) {
      if (/^docs-internal-guid/.test(el.id || "") || isNormalWeight(el.style.fontWeight)) {
        unwrapElement(el);
      }
    });
    Array.prototype.forEach.call(body.querySelectorAll("i,em"), function (el) {
      if (el.style.fontStyle === "normal") { unwrapElement(el); }
    });
    // Google Docs (and others) say bold and italic with styles on spans.
    Array.prototype.forEach.call(body.querySelectorAll("span[style],font[style]"), function (el) {
      var inHeading = !!el.closest("h1,h2,h3,h4,h5,h6");
      var decoration = el.style.textDecorationLine || el.style.textDecoration || "";
      if (/line-through/.test(decoration)) { wrapContents(el, "del"); }
      if (el.style.fontStyle === "italic" || el.style.fontStyle === "oblique") { wrapContents(el, "em"); }
      if (!inHeading && isBoldWeight(el.style.fontWeight)) { wrapContents(el, "strong"); }
    });
    // Headings are bold already.
    Array.prototype.forEach.call(body.querySelectorAll("h1 strong,h1 b,h2 strong,h2 b,h3 strong," +
      "h3 b,h4 strong,h4 b,h5 strong,h5 b,h6 strong,h6 b"), unwrapElement);
    // Links: unwrap Google's redirects; keep only web and e-mail links with full addresses.
    Array.prototype.forEach.call(body.querySelectorAll("a"), function (a) {
      var href = (a.getAttribute("href") || "").trim();
      if (/^https?:\/\/(?:www\.)?google\.[a-z.]+\/url\?/i.test(href)) {
        try { href = new URL(href).searchParams.get("q") || href; } catch (e) { /* keep it */ }
      }
      if (/^(?:https?:\/\/|mailto:)\S/i.test(href)) {
        a.setAttribute("href", href);
      } else {
        unwrapElement(a);
      }
    });
    // Google Docs nests a sub-list directly in the list: move it into the item above.
    Array.prototype.forEach.call(body.querySelectorAll("ul > ul,ul > ol,ol > ul,ol > ol"), function (list) {
      var previous = list.previousElementSibling;
      if (previous && previous.nodeName === "LI") { previous.appendChild(list); }
    });
    // <li><p>text</p></li> makes a loose list: keep it tight.
    Array.prototype.forEach.call(body.querySelectorAll("li > p:only-of-type"), function (p) {
      var others = Array.prototype.filter.call(p.parentNode.children, function (c) {
        return c !== p && c.nodeName !== "UL" && c.nodeName !== "OL";
      });
      if (!others.length) { unwrapElement(p); }
    });
    // Line breaks at the edge of a block (Google Docs puts <br> between paragraphs).
    Array.prototype.slice.call(body.querySelectorAll("br")).forEach(function (br) {
      if (!hasContentBeside(br, true) || !hasContentBeside(br, false)) {
        br.parentNode.removeChild(br);
      }
    });
    // Runs of (non-breaking) spaces become one space.
    var walker = doc.createTreeWalker(body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      var node = walker.currentNode;
      if (!node.parentNode.closest("pre,code")) {
        node.nodeValue = node.nodeValue.replace(/[ \u00a0]{2,}/g, " ");
      }
    }
    Array.prototype.forEach.call(body.querySelectorAll("p,li,h1,h2,h3,h4,h5,h6,td,th"), trimBlockEdges);
    // Adjacent <strong>a</strong><strong>b</strong> (one per styled span) become one.
    ["STRONG", "EM", "DEL"].forEach(function (tag) {
      var found = body.getElementsByTagName(tag);
      for (var i = found.length - 1; i >= 0; i--) {
        var el = found[i];
        var next = el.nextSibling;
        if (next && next.nodeName === tag) {
          while (next.firstChild) { el.appendChild(next.firstChild); }
          next.parentNode.removeChild(next);
        }
      }
    });
    // The page already has a title: the pasted text's top heading level becomes "##".
    var headings = body.querySelectorAll("h1,h2,h3,h4,h5,h6");
    if (headings.length) {
      var top = Math.min.apply(null, Array.prototype.map.call(headings, function (h) {
        return Number(h.nodeName.charAt(1));
      }));
      Array.prototype.forEach.call(headings, function (h) {
        var level = Math.min(6, Number(h.nodeName.charAt(1)) - top + 2);
        if (level !== Number(h.nodeName.charAt(1))) { renameElement(h, "h" + level); }
      });
    }
    return body;
  }

  function escapeMarkdownText(text) {
    return text
      .replace(/\\/g, "\\\\")
      .replace(/\*/g, "\\*")
      .replace(/^-(?=\s|-|$)/, "\\-")
      .replace(/^\+(?=\s)/, "\\+")
      .replace(/^(=+)/, "\\$1")
      .replace(/^(#{1,6})(?=\s|$)/, "\\$1")
      .replace(/`/g, "\\`")
      .replace(/~~/g, "\\~\\~")
      .replace(/\[/g, "\\[")
      .replace(/\]/g, "\\]")
      .replace(/^>/, "\\>")
      .replace(/_/g, function (m, offset, all) { // snake_case stays as it is
        return isWordChar(all.charAt(offset - 1)) && isWordChar(all.charAt(offset + 1)) ? "_" : "\\_";
      })
      .replace(/^(\d+)([.)])(?=\s|$)/, "$1\\$2");
  }

  var turndownService = null;

  function getTurndown() {
    if (turndownService || typeof window.TurndownService !== "function") { return turndownService; }
    var service = new window.TurndownService({
      headingStyle: "atx",
      hr: "---",
      bulletListMarker: "-",
      codeBlockStyle: "fenced",
      emDelimiter: "*",
      strongDelimiter: "**",
      br: "\\"
    });
    service.escape = escapeMarkdownText;
    service.addRule("listItem", { // "- item" and "1. item", not turndown's "-   item"
      filter: "li",
      replacement: function (content, node, options) {
        var parent = node.parentNode;
        var prefix = options.bulletListMarker + " ";
        if (parent.nodeName === "OL") {
          var start = parseInt(parent.getAttribute("start") || "1", 10);
          prefix = ((isNaN(start) ? 1 : start) + Array.prototype.indexOf.call(parent.children, node)) + ". ";
        }
        var paragraph = /\n$/.test(content);
        content = content.replace(/^\n+/, "").replace(/\n+$/, "") + (paragraph ? "\n" : "");
        content = content.replace(/\n/g, "\n" + " ".repeat(prefix.length));
        return prefix + content + (node.nextSibling ? "\n" : "");
      }
    });
    service.addRule("strikethrough", {
      filter: ["del", "s", "strike"],
      replacement: function (content) { return content.trim() ? "~~" + content + "~~" : ""; }
    });
    service.addRule("tableSection", { filter: ["thead", "tbody", "tfoot"], replacement: function (c) { return c; } });
    service.addRule("tableCaption", { filter: ["caption"], replacement: function () { return ""; } });
    service.addRule("tableCell", {
      filter: ["th", "td"],
      replacement: function (content) {
        return " " + content.replace(/\s*\n+\s*/g, " ").replace(/\|/g, "\\|").trim() + " |";
      }
    });
    service.addRule("tableRow", {
      filter: "tr",
      replacement: function (content, node) {
        var table = node.closest("table");
        var row = "\n|" + content;
        if (table && table.rows[0] === node) { // the first row is the header row
          row += "\n|" + " --- |".repeat(Math.max(1, node.cells.length));
        }
        return row + "\n";
      }
    });
    service.addRule("table", {
      filter: "table",
      replacement: function (content) { return "\n\n" + content.replace(/\n+/g, "\n").trim() + "\n\n"; }
    });
    turndownService = service;
    return service;
  }

  /** Markdown for pasted HTML, or null when plain text will do (or turndown is missing). */
  function htmlToMarkdown(html) {
    var service = getTurndown();
    if (!service || !html) { return null; }
    var body = cleanPastedHtml(html);
    if (!body || !body.querySelector(FORMATTING_SELECTOR)) { return null; }
    var markdown = service.turndown(body)
      .replace(/[ \t]+$/gm, "")
      .replace(/\n{3,}/g, "\n\n")
      .trim();
    return markdown || null;
  }

  function lineAt(value, index) {
    var from = index === 0 ? 0 : value.lastIndexOf("\n", index - 1) + 1;
    var to = value.indexOf("\n", index);
    return { from: from, to: to === -1 ? value.length : to };
  }

  /** The line before the one that starts at lineStart ("" at the top). */
  function previousLine(value, lineStart) {
    return lineStart === 0 ? null : value.slice(lineAt(value, lineStart - 1).from, lineStart - 1);
  }

  /** The line after the one that ends at lineEnd (null at the bottom). */
  function nextLine(value, lineEnd) {
    return lineEnd >= value.length ? null : value.slice(lineEnd + 1, lineAt(value, lineEnd + 1).to);
  }

  /** Does pasted text that starts with `first` continue the list or quote on `line`? */
  function continuesBlock(line, first) {
    return (ANY_LIST_RE.test(line) && ANY_LIST_RE.test(first)) ||
      (QUOTE_RE.test(line) && QUOTE_RE.test(first));
  }

  /** Is the caret on an empty line right under a line of text (one Enter after a paragraph)? */
  function underAParagraph(ta) {
    var value = ta.value;
    var line = lineAt(value, ta.selectionStart);
    if (!isBlankLine(value.slice(line.from, ta.selectionStart)) ||
        !isBlankLine(value.slice(ta.selectionEnd, lineAt(value, ta.selectionEnd).to))) {
      return false;
    }
    var above = previousLine(value, line.from);
    return above !== null && !isBlankLine(above);
  }

  /**
   * Insert pasted Markdown as one undoable edit. Blocks (several lines, lists, headings)
   * go on lines of their own; anything pasted on an empty line right under a paragraph
   * becomes a paragraph of its own (in Markdown a single line break would join it to
   * the paragraph above), unless it continues the list or quote above.
   */
  function insertPasted(ta, markdown) {
    var value = ta.value;
    var s = ta.selectionStart;
    var e = ta.selectionEnd;
    var start = lineAt(value, s);
    var end = lineAt(value, e);
    var first = markdown.split("\n")[0];
    var block = markdown.indexOf("\n") !== -1 || /^(?:#{1,6} |[-*+] |\d+\. |> |\||```|---)/.test(markdown);
    var emptyBefore = isBlankLine(value.slice(start.from, s));
    var emptyAfter = isBlankLine(value.slice(e, end.to));
    if (emptyBefore && emptyAfter || block) {
      if (!emptyBefore) {
        while (s > start.from && /[ \t]/.test(value.charAt(s - 1))) { s--; }
        markdown = "\n\n" + markdown;
      } else {
        var above = previousLine(value, start.from);
        if (above !== null && !isBlankLine(above) && !continuesBlock(above, first)) {
          markdown = "\n" + markdown;
        }
      }
      if (!emptyAfter) {
        while (e < end.to && /[ \t]/.test(value.charAt(e))) { e++; }
        markdown += "\n\n";
      } else {
        var below = nextLine(value, end.to);
        var last = markdown.split("\n").pop();
        if (below !== null && !isBlankLine(below) && !continuesBlock(last, below)) {
          markdown += "\n";
        }
      }
    }
    replaceRange(ta, s, e, markdown, s + markdown.length, s + markdown.length);
  }

  function onPaste(ta, event) {
    var data = event.clipboardData;
    var types = data && data.types ? Array.prototype.slice.call(data.types) : [];
    var markdown = null;
    if (types.indexOf("text/html") !== -1) {
      try {
        markdown = htmlToMarkdown(data.getData("text/html"));
      } catch (e) {
        markdown = null; // whatever went wrong, the browser's own paste still works
      }
    }
    if (!markdown) {
      // Plain text: the browser does it best, except one Enter under a paragraph.
      var text = types.indexOf("text/plain") !== -1 ? data.getData("text/plain") : "";
      if (!/\S/.test(text) || !underAParagraph(ta)) { return; }
      markdown = text.replace(/\r\n?/g, "\n").replace(/^\n+|\n+$/g, "");
    }
    event.preventDefault();
    insertPasted(ta, markdown);
  }

  // ---------------------------------------------------------------------------------
  // Toolbar.

  function shortcut(key, shift) {
    var mod = IS_MAC ? "\u2318" : "Ctrl+";
    return mod + (shift ? (IS_MAC ? "\u21e7" : "Shift+") : "") + key;
  }

  function ariaShortcut(key, shift) {
    return (IS_MAC ? "Meta+" : "Control+") + (shift ? "Shift+" : "") + key;
  }

  var ACTIONS = [
    { name: "heading", label: "Heading", text: "Heading", title: "Heading (click again for a smaller heading, a third time for normal text)", run: cycleHeading },
    { name: "bold", label: "Bold", text: "Bold", tag: "strong", key: "B", run: function (ta) { toggleInline(ta, 2); } },
    { name: "italic", label: "Italic", text: "Italic", tag: "em", key: "I", run: function (ta) { toggleInline(ta, 1); } },
    { name: "bullets", label: "Bulleted list", icon: "\u2022", text: "List", key: "8", shift: true, run: toggleBullets },
    { name: "numbers", label: "Numbered list", icon: "1.", text: "List", key: "7", shift: true, run: toggleNumbers },
    { name: "link", label: "Link", text: "Link", key: "K", run: insertLink },
    { name: "quote", label: "Quote", icon: "\u201c", text: "Quote", run: toggleQuote }
  ];

  function buildToolbar(editor) {
    var toolbar = editor.toolbar;
    toolbar.textContent = "";
    toolbar.setAttribute("role", "toolbar");
    if (!toolbar.hasAttribute("aria-label")) { toolbar.setAttribute("aria-label", "Formatting"); }
    toolbar.setAttribute("aria-controls", editor.textarea.id);
    ACTIONS.forEach(function (action, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "editor-button editor-button-" + action.name;
      button.setAttribute("data-action", action.name);
      button.setAttribute("aria-label", action.label);
      button.tabIndex = index === 0 ? 0 : -1; // one tab stop; arrow keys move inside
      var title = action.title || action.label;
      if (action.key) {
        title += " (" + shortcut(action.key, action.shift) + ")";
        button.setAttribute("aria-keyshortcuts", ariaShortcut(action.key, action.shift));
      }
      button.title = title;
      if (action.icon) {
        // Drawn by the style sheet, not text: the visible text ("List") is then part
        // of the button's name ("Numbered list"), as WCAG 2.5.3 asks; "1." would not be.
        button.setAttribute("data-icon", action.icon);
      }
      var text = document.createElement(action.tag || "span");
      text.textContent = action.text;
      button.appendChild(text);
      button.addEventListener("mousedown", function (event) { event.preventDefault(); }); // keep the selection
      button.addEventListener("click", function () { action.run(editor.textarea); });
      toolbar.appendChild(button);
    });
    toolbar.addEventListener("keydown", function (event) {
      var buttons = Array.prototype.slice.call(toolbar.querySelectorAll("button"));
      var index = buttons.indexOf(document.activeElement);
      if (index === -1) { return; }
      var next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: buttons.length - 1 }[event.key];
      if (next === undefined) { return; }
      event.preventDefault();
      next = (next + buttons.length) % buttons.length;
      buttons[index].tabIndex = -1;
      buttons[next].tabIndex = 0;
      buttons[next].focus();
    });
    toolbar.hidden = false;
  }

  function onKeydown(editor, event) {
    var ta = editor.textarea;
    if (event.key === "Enter") { continueBlock(ta, event); return; }
    var mod = IS_MAC ? event.metaKey && !event.ctrlKey : event.ctrlKey && !event.metaKey;
    if (!mod || event.altKey) { return; }
    var key = (event.key || "").toUpperCase();
    if (!/^[A-Z]$/.test(key)) { // other keyboard layouts: the key's position (Ctrl+B on a Cyrillic layout)
      key = (/^Key([A-Z])$/.exec(event.code || "") || [])[1] || key;
    }
    var digit = (/^Digit(\d)$/.exec(event.code || "") || [])[1];
    var action = null;
    ACTIONS.forEach(function (a) {
      if (!a.key || !!a.shift !== event.shiftKey) { return; }
      if (a.key === key || a.key === digit) { action = a; }
    });
    if (action) {
      event.preventDefault();
      action.run(ta);
    }
  }

  // ---------------------------------------------------------------------------------
  // Live preview.

  function csrfToken(form) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) { return meta.content; }
    var input = form && form.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  function setupPreview(editor) {
    var url = editor.textarea.getAttribute("data-preview-url");
    if (!url || !editor.preview || typeof window.fetch !== "function") { return; }
    var timer = null;
    var controller = null;
    var sequence = 0;
    var lastRendered = null;
    var empty = editor.preview.innerHTML;

    function setStatus(message) {
      // The status element stays in the page, empty when all is well, so that screen
      // readers announce a message when it appears (role="status").
      if (editor.status && editor.status.textContent !== message) { editor.status.textContent = message; }
    }

    function show(html) {
      if (html === lastRendered) { return; } // nothing new for screen readers to announce
      lastRendered = html;
      // The server sanitises this HTML (nh3) exactly as for the letter page itself.
      editor.preview.innerHTML = html || empty;
    }

    function update() {
      timer = null;
      var text = editor.textarea.value;
      var mine = ++sequence;
      if (controller) { controller.abort(); }
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var body = new FormData();
      body.append("body", text);
      editor.preview.setAttribute("aria-busy", "true");
      window.fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        redirect: "error", // an expired session redirects to the login page: not a preview
        headers: { "X-CSRFToken": csrfToken(editor.form), "Accept": "application/json" },
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { ok: response.ok, data: data };
        });
      }).then(function (result) {
        if (mine !== sequence) { return; }
        editor.preview.removeAttribute("aria-busy");
        if (result.ok && typeof result.data.html === "string") {
          setStatus("");
          show(result.data.html);
        } else {
          var errors = result.data && result.data.errors && result.data.errors.body;
          setStatus("Preview unavailable" + (errors && errors.length ? ": " + errors[0] : ".") +
                    " Your text is safe; it is only the preview.");
        }
      }).catch(function (error) {
        if (error && error.name === "AbortError") { return; }
        if (mine !== sequence) { return; }
        editor.preview.removeAttribute("aria-busy");
        setStatus("Preview unavailable. Your text is safe; it is only the preview.");
      });
    }

    editor.schedulePreview = function (immediately) {
      if (timer) { window.clearTimeout(timer); }
      timer = window.setTimeout(update, immediately ? 0 : PREVIEW_DELAY_MS);
    };
    editor.previewPanel.hidden = false;
    editor.layout.classList.add("with-preview");
    if (editor.textarea.value) { editor.schedulePreview(true); }
  }

  // ---------------------------------------------------------------------------------
  // Unsaved text kept in this browser (<textarea data-editor-draft="user-3:letter-5">: the
  // person's, core.sessions.browser_draft_name; logging out deletes it, signon.js).
  //
  // What is typed is stored as {body, base, savedAt} under "signon-draft:<name>:base-<id>",
  // <id> being the form's base revision (data-editor-base-field), while typing and
  // when the form is sent, so that a save refused because the session ended (the server
  // answers with the login page) loses nothing. The next visit offers the text back:
  // "Restore" puts it in the editor with its base revision, so that saving merges it
  // with whatever was saved meanwhile; "Discard" forgets it. The page after a save
  // clears the copy (signon.js, <meta name="signon-saved-draft">).

  var DRAFT_PREFIX = "signon-draft:"; // also in signon.js
  var DRAFT_DELAY_MS = 300;

  function draftStore() {
    try { return window.localStorage; } catch (e) { return null; } // refused by the browser's settings
  }

  /** The form's base revision: its value, or with a value, set it (every copy of the field). */
  function draftBase(editor, value) {
    var name = editor.textarea.getAttribute("data-editor-base-field");
    if (!name || !editor.form) { return ""; }
    var fields = Array.prototype.filter.call(editor.form.elements, function (el) {
      return el instanceof HTMLInputElement && el.name === name;
    });
    if (value !== undefined) { fields.forEach(function (el) { el.value = value; }); }
    return fields.length ? fields[0].value : "";
  }

  function draftKey(editor) {
    var base = draftBase(editor);
    return DRAFT_PREFIX + editor.draftName + (base ? ":base-" + base : "");
  }

  function storeDraft(editor) {
    var store = draftStore();
    if (!store) { return; }
    var ta = editor.textarea;
    try {
      if (ta.value === ta.defaultValue && !ta.hasAttribute("data-editor-unsaved")) {
        store.removeItem(draftKey(editor)); // back to the saved text: nothing to keep
        return;
      }
      store.setItem(draftKey(editor), JSON.stringify({
        body: ta.value, base: draftBase(editor), savedAt: new Date().toISOString()
      }));
    } catch (e) { /* storage full or refused: the form still sends the text */ }
  }

  function storedDrafts(editor) {
    var store = draftStore();
    var found = [];
    if (!store) { return found; }
    var own = DRAFT_PREFIX + editor.draftName;
    for (var index = 0; index < store.length; index++) {
      var key = store.key(index);
      if (key !== own && (!key || key.indexOf(own + ":") !== 0)) { continue; }
      try {
        var draft = JSON.parse(store.getItem(key) || "null");
        if (draft && typeof draft.body === "string") { draft.key = key; found.push(draft); }
      } catch (e) { /* not ours after all */ }
    }
    found.sort(function (a, b) { return String(b.savedAt).localeCompare(String(a.savedAt)); });
    return found;
  }

  function formatSavedAt(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) { return "earlier"; }
    try {
      return window.signonTime(when, true); // the app's one format (static/js/timefmt.js)
    } catch (e) { return when.toLocaleString(); }
  }

  function offerDraft(editor, drafts) {
    var draft = drafts[0];
    var banner = document.createElement("div");
    banner.className = "flash flash-warning editor-draft";
    banner.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.textContent = "You have unsaved text from " + formatSavedAt(draft.savedAt) + ": ";
    banner.appendChild(text);
    var restore = document.createElement("button");
    restore.type = "button";
    restore.className = "button button-small";
    restore.textContent = "Restore";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button button-secondary button-small";
    discard.textContent = "Discard";
    banner.appendChild(restore);
    banner.appendChild(document.createTextNode(" "));
    banner.appendChild(discard);
    editor.layout.parentNode.insertBefore(banner, editor.layout);

    function forget(keep) {
      var store = draftStore();
      drafts.forEach(function (d) { if (store && d.key !== keep) { store.removeItem(d.key); } });
      banner.parentNode.removeChild(banner);
      editor.textarea.focus();
    }
    restore.addEventListener("click", function () {
      if (draft.base) { draftBase(editor, draft.base); } // the save merges from there
      editor.textarea.value = draft.body;
      editor.textarea.setAttribute("data-editor-unsaved", "");
      forget(draft.key);
      editor.textarea.dispatchEvent(new Event("input", { bubbles: true }));
    });
    discard.addEventListener("click", function () { forget(null); });
  }

  function sameText(a, b) {
    return a.replace(/\r\n?/g, "\n").trimEnd() === b.replace(/\r\n?/g, "\n").trimEnd();
  }

  function setupDraft(editor) {
    editor.draftName = editor.textarea.getAttribute("data-editor-draft");
    var store = draftStore();
    if (!editor.draftName || !store) { return; }
    // Saved by the request that led here (signon.js clears it too, but runs after this).
    var saved = document.querySelector('meta[name="signon-saved-draft"]');
    if (saved && saved.content) { store.removeItem(DRAFT_PREFIX + saved.content); }
    var drafts = storedDrafts(editor).filter(function (d) { return !sameText(d.body, editor.textarea.value); });
    if (drafts.length) { offerDraft(editor, drafts); }
    var timer = null;
    editor.storeDraftSoon = function () {
      if (timer) { window.clearTimeout(timer); }
      timer = window.setTimeout(function () { timer = null; storeDraft(editor); }, DRAFT_DELAY_MS);
    };
    editor.storeDraftNow = function () {
      if (timer) { window.clearTimeout(timer); timer = null; }
      storeDraft(editor);
    };
  }

  // ---------------------------------------------------------------------------------
  // Someone else saved meanwhile (<textarea data-editor-newest-url>).
  //
  // Every 30 seconds while the page is shown, and when the window gets the focus back,
  // the editor asks the server for the letter's newest revision (a small JSON answer
  // with an ETag: unchanged, it is a 304). When it is newer than the form's base
  // revision, a notice says who saved and links to the Compare of the two revisions.
  // Nothing else changes: the save merges both texts as before.

  var NEWEST_INTERVAL_MS = 30000;

  function showNewer(editor, data) {
    if (!editor.newerNotice) {
      editor.newerNotice = document.createElement("div");
      editor.newerNotice.className = "flash flash-warning editor-newer";
      editor.newerNotice.setAttribute("role", "status");
      editor.layout.parentNode.insertBefore(editor.newerNotice, editor.layout);
    }
    var notice = editor.newerNotice;
    notice.textContent = "";
    notice.appendChild(document.createTextNode(
      (data.newest.author || "Someone") + " saved a newer version (revision " + data.newest.number +
      ") while you were editing revision " + data.base.number + ". "));
    var link = document.createElement("a");
    link.href = data.compare_url;
    link.target = "_blank"; // a new tab: this page and its unsaved text stay as they are
    link.rel = "noopener";
    link.textContent = "See what changed (new tab)";
    notice.appendChild(link);
    notice.appendChild(document.createTextNode(
      ". Your text stays here: when you save, both versions are merged, and you choose " +
      "where they overlap."));
  }

  function setupNewest(editor) {
    var url = editor.textarea.getAttribute("data-editor-newest-url");
    if (!url || typeof window.fetch !== "function") { return; }
    var busy = false;
    var stopped = false;
    function check() {
      var base = draftBase(editor);
      if (busy || stopped || !base || document.visibilityState === "hidden" || isLive(editor)) { return; }
      busy = true;
      window.fetch(url + (url.indexOf("?") === -1 ? "?" : "&") + "base=" + encodeURIComponent(base), {
        credentials: "same-origin",
        redirect: "error",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (response.status === 401 || response.status === 403) { stopped = true; } // logged out
        return response.ok ? response.json() : null;
      }).then(function (data) {
        busy = false;
        if (data && data.newer && data.compare_url) {
          showNewer(editor, data);
        } else if (data && editor.newerNotice) {
          editor.newerNotice.parentNode.removeChild(editor.newerNotice);
          editor.newerNotice = null;
        }
      }).catch(function () { busy = false; }); // offline for a moment: the next check will do
    }
    window.setInterval(check, NEWEST_INTERVAL_MS);
    window.addEventListener("focus", check);
    document.addEventListener("visibilitychange", check);
  }

  // ---------------------------------------------------------------------------------
  // Counter, unsaved-changes guard, setup.

  function countWords(text) {
    var words = text
      .replace(/\]\([^)\s]*\)/g, "]") // link addresses are not words
      .match(/[\p{L}\p{N}]+(?:['\u2019.\-][\p{L}\p{N}]+)*/gu);
    return words ? words.length : 0;
  }

  function updateCounter(editor) {
    if (!editor.counter) { return; }
    var text = editor.textarea.value;
    var lang = document.documentElement.lang || undefined;
    var words = countWords(text);
    var chars = Array.from(text).length;
    var message = words.toLocaleString(lang) + (words === 1 ? " word" : " words") + " \u00b7 " +
      chars.toLocaleString(lang) + (chars === 1 ? " character" : " characters");
    var limit = Number(editor.textarea.getAttribute("data-max-chars")) || 0;
    // The server counts a line break as two characters (the form sends CRLF).
    var sent = chars + (text.match(/\n/g) || []).length;
    var over = limit > 0 && sent > limit;
    if (over) { message += " \u2014 over the limit of " + limit.toLocaleString(lang) + " characters"; }
    editor.counter.textContent = message;
    editor.counter.classList.toggle("over-limit", over);
    editor.counter.hidden = false;
  }

  /** Is the text shared live, and so kept by the server (static/js/live.js)? */
  function isLive(editor) { return !!(editor.live && editor.live.shared()); }

  function isDirty(editor) {
    if (editor.form && editor.form._signonSubmitting) { return false; }
    if (isLive(editor)) { return false; }
    return editor.textarea.value !== editor.textarea.defaultValue ||
      editor.textarea.hasAttribute("data-editor-unsaved");
  }

  function byId(ta, attribute) {
    var id = ta.getAttribute(attribute);
    return id ? document.getElementById(id) : null;
  }

  function create(tag, className, before, parent) {
    var el = document.createElement(tag);
    el.className = className;
    (parent || before.parentNode).insertBefore(el, before);
    return el;
  }

  function init(ta) {
    if (ta.hasAttribute("data-editor-ready")) { return null; }
    ta.setAttribute("data-editor-ready", "");
    if (!ta.id) { ta.id = "editor-" + (editors.length + 1); }
    var editor = { textarea: ta, form: ta.form, schedulePreview: null, storeDraftSoon: null, storeDraftNow: null, newerNotice: null, live: null };
    editor.layout = ta.closest("[data-editor-layout]") || ta.parentNode;
    editor.toolbar = byId(ta, "data-editor-toolbar") || create("div", "editor-toolbar", ta);
    editor.counter = byId(ta, "data-editor-counter") || create("p", "hint editor-count", ta.nextSibling, ta.parentNode);
    editor.preview = byId(ta, "data-editor-preview");
    editor.previewPanel = editor.preview ? (editor.preview.closest("[data-editor-preview-panel]") || editor.preview) : null;
    editor.status = editor.previewPanel ? editor.previewPanel.querySelector("[data-editor-preview-status]") : null;

    // A read-only text (a page that follows the live text) has nothing to format.
    if (!ta.readOnly) { buildToolbar(editor); }
    setupPreview(editor);
    setupDraft(editor);
    setupNewest(editor);
    updateCounter(editor);
    ta.addEventListener("input", function () {
      updateCounter(editor);
      if (editor.schedulePreview) { editor.schedulePreview(false); }
      if (editor.storeDraftSoon && !isLive(editor)) { editor.storeDraftSoon(); }
    });
    ta.addEventListener("keydown", function (event) { onKeydown(editor, event); });
    ta.addEventListener("paste", function (event) { onPaste(ta, event); });
    editors.push(editor);
    return editor;
  }

  // Leaving the page with unsaved text asks first; submitting the form does not.
  window.addEventListener("submit", function (event) {
    // On window, so that this runs after other handlers (signon.js's confirm) have had their say.
    if (!event.defaultPrevented && event.target instanceof HTMLFormElement) {
      event.target._signonSubmitting = true;
      // Kept until the page after the save says it is saved: if the session has ended,
      // the server answers with the login page and this copy is offered back later.
      editors.forEach(function (editor) {
        if (editor.form === event.target && editor.storeDraftNow) { editor.storeDraftNow(); }
      });
    }
  });
  window.addEventListener("pagehide", function () {
    editors.forEach(function (editor) { if (editor.storeDraftNow && isDirty(editor)) { editor.storeDraftNow(); } });
  });
  window.addEventListener("pageshow", function () { // back from the cache: editing again
    editors.forEach(function (editor) { if (editor.form) { editor.form._signonSubmitting = false; } });
  });
  window.addEventListener("beforeunload", function (event) {
    if (!editors.some(isDirty)) { return undefined; }
    event.preventDefault();
    event.returnValue = ""; // older browsers need a value to ask
    return "";
  });

  function initAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("textarea[data-editor]"), init);
  }

  /** The editor of a textarea (enhancing it first if needed). */
  function editorFor(ta) {
    for (var i = 0; i < editors.length; i++) { if (editors[i].textarea === ta) { return editors[i]; } }
    return init(ta);
  }

  window.SignonEditor = { init: init, initAll: initAll, editorFor: editorFor, csrfToken: csrfToken, htmlToMarkdown: htmlToMarkdown, normaliseUrl: normaliseUrl };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  } else {
    initAll(document);
  }
})();
