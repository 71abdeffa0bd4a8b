/* Live co-editing of a letter: the Markdown editor's textarea bound to a shared Yjs text.
 *
 * The page carries a panel (templates/drafting/live/_panel.html):
 *
 *   <section data-live-for="TEXTAREA-ID" data-live-url="/letters/SLUG/live"
 *            data-live-save-url="..." data-live-name="Ada" [data-live-readonly]>
 *
 * and this script, after static/js/editor.js and the vendored Yjs bundle
 * (static/vendor/yjs/yjs-bundle.js, window.SignonYjs), then:
 *   - opens the WebSocket (standard y-websocket protocol: sync and awareness messages)
 *     and, once the server's document has arrived, binds the textarea to the Y.Text
 *     "markdown": each local edit becomes a delete and an insert (the common prefix and
 *     suffix of the old and new value, next to the caret), each remote change rewrites the
 *     textarea and keeps the caret and selection where they were in the words
 *     (Y.RelativePosition); while an input method composes (compositionstart..end) its
 *     steps are not shared and remote changes wait, then the composed text goes as one;
 *   - shows who is in the text and where: a list with each person's line, their caret and
 *     selection drawn over the textarea, and a visually hidden live region announcing who
 *     joined and left;
 *   - shows the connection state; a dropped connection reconnects by itself and what was
 *     typed meanwhile is merged then (the CRDT keeps it in the page);
 *   - "Save version" asks the server to make a Signon revision of the shared text.
 * Until the first sync the textarea is read-only; when the socket cannot be opened the
 * page stays the classic form ("Save revision", three-way merge on the server).
 *
 * window.SignonLive.bind(textarea, ytext, awareness, options) is the binding alone, used by
 * the browser tests with two documents in one page.
 *
 * Plain ES2018, no inline code (CSP: script-src 'self'); the socket is same-origin.
 */
(function () {
  "use strict";

  if (window.SignonLive || !window.SignonYjs) { return; }

  var Y = window.SignonYjs.Y;
  var WebsocketProvider = window.SignonYjs.WebsocketProvider;
  /** The transaction origin of this page's own edits (remote ones have another). */
  var LOCAL = { local: true };
  /** Give up and stay a classic form when the first sync takes longer than this. */
  var CONNECT_TIMEOUT_MS = 10000;
  /** Caret colours: each has a contrast of at least 4.5:1 on white (names are written in them). */
  var COLOURS = ["#b3261e", "#1a5fb4", "#1e7a35", "#8e3fc4", "#a14d00", "#00707a", "#9c1d6b", "#4a5a00"];

  function colourOf(clientId) { return COLOURS[clientId % COLOURS.length]; }

  function isHighSurrogate(code) { return code >= 0xd800 && code <= 0xdbff; }
  function isLowSurrogate(code) { return code >= 0xdc00 && code <= 0xdfff; }

  /**
   * The change from `before` to `after` as one replaced range: {index, remove, insert}.
   * The common suffix stops at the caret (`caret`, in `after`), so that typing "a" after
   * an "a" inserts where the person typed; surrogate pairs are never split.
   */
  function change(before, after, caret) {
    var suffix = 0;
    var maxSuffix = Math.min(before.length, after.length);
    if (typeof caret === "number") { maxSuffix = Math.min(maxSuffix, after.length - caret); }
    while (suffix < maxSuffix &&
           before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)) {
      suffix++;
    }
    if (suffix > 0 && isLowSurrogate(after.charCodeAt(after.length - suffix))) { suffix--; }
    var prefix = 0;
    var maxPrefix = Math.min(before.length, after.length) - suffix;
    while (prefix < maxPrefix && before.charCodeAt(prefix) === after.charCodeAt(prefix)) { prefix++; }
    if (prefix > 0 && isHighSurrogate(after.charCodeAt(prefix - 1))) { prefix--; }
    return {
      index: prefix,
      remove: before.length - suffix - prefix,
      insert: after.slice(prefix, after.length - suffix)
    };
  }

  function lineNumber(text, index) {
    var n = 1;
    for (var i = text.indexOf("\n"); i !== -1 && i < index; i = text.indexOf("\n", i + 1)) { n++; }
    return n;
  }

  function relative(ytext, index) {
    return Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, index));
  }

  function absolute(doc, json) {
    if (!json) { return null; }
    try {
      var found = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(json), doc);
      return found ? found.index : null;
    } catch (e) {
      return null; // a malformed position from someone else's page: no caret shown
    }
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text) { el.textContent = text; }
    return el;
  }

  // ---------------------------------------------------------------------------------
  // Other people's carets and selections, drawn over the textarea.
  //
  // A layer per person lies exactly over the textarea's text box, with the same font,
  // padding and wrapping, holding the text up to their caret in transparent ink: the
  // caret mark then falls where the browser draws that character in the textarea.

  var MIRRORED = ["fontFamily", "fontSize", "fontWeight", "fontStyle", "letterSpacing", "lineHeight",
    "textTransform", "wordSpacing", "textIndent", "tabSize", "paddingTop", "paddingRight",
    "paddingBottom", "paddingLeft", "direction"];

  function Overlay(ta) {
    this.ta = ta;
    var frame = element("div", "live-frame");
    ta.parentNode.insertBefore(frame, ta);
    frame.appendChild(ta);
    this.box = element("div", "live-cursors");
    this.box.setAttribute("aria-hidden", "true"); // the presence list says it in words
    frame.appendChild(this.box);
    this.sheet = element("div", "live-cursors-sheet");
    this.box.appendChild(this.sheet);
    var self = this;
    ta.addEventListener("scroll", function () { self.place(); });
    if (typeof window.ResizeObserver === "function") {
      new window.ResizeObserver(function () { self.place(); }).observe(ta);
    }
    window.addEventListener("resize", function () { self.place(); });
  }

  Overlay.prototype.place = function () {
    var ta = this.ta;
    var style = window.getComputedStyle(ta);
    this.box.style.left = (ta.offsetLeft + ta.clientLeft) + "px";
    this.box.style.top = (ta.offsetTop + ta.clientTop) + "px";
    this.box.style.width = ta.clientWidth + "px";
    this.box.style.height = ta.clientHeight + "px";
    var sheet = this.sheet;
    MIRRORED.forEach(function (name) { sheet.style[name] = style[name]; });
    sheet.style.width = ta.clientWidth + "px";
    sheet.style.transform = "translate(" + (-ta.scrollLeft) + "px, " + (-ta.scrollTop) + "px)";
  };

  /** people: [{name, colour, start, end}] with offsets into text. */
  Overlay.prototype.draw = function (text, people) {
    var sheet = this.sheet;
    while (sheet.firstChild) { sheet.removeChild(sheet.firstChild); }
    people.forEach(function (person) {
      var layer = element("div", "live-cursor-layer");
      var start = Math.min(person.start, person.end);
      var end = Math.max(person.start, person.end);
      layer.appendChild(document.createTextNode(text.slice(0, start)));
      if (end > start) {
        var selected = element("span", "live-selection", text.slice(start, end));
        selected.style.backgroundColor = person.colour + "33";
        layer.appendChild(selected);
      }
      var caret = element("span", "live-caret");
      caret.style.borderColor = person.colour;
      var flag = element("span", "live-caret-name", person.name);
      flag.style.backgroundColor = person.colour;
      caret.appendChild(flag);
      if (person.end >= person.start) { layer.appendChild(caret); } else { layer.insertBefore(caret, selected); }
      sheet.appendChild(layer);
    });
    this.place();
  };

  // ---------------------------------------------------------------------------------
  // The binding: textarea <-> Y.Text, and this person's caret in the awareness.

  /**
   * Bind `ta` to `ytext` (its document's text) and publish the caret in `awareness`.
   * options: name (shown to the others), readOnly, onPeople(people, text) called when
   * the list of other people or their positions change.
   */
  function bind(ta, ytext, awareness, options) {
    options = options || {};
    var doc = ytext.doc;
    var text = ytext.toString();
    var saved = null; // this person's selection as relative positions, across a remote change

    if (ta.value !== text) { ta.value = text; }
    ta.readOnly = !!options.readOnly;
    var overlay = new Overlay(ta);

    function notifyEditor() { // counter, preview (editor.js listens to input)
      ta.dispatchEvent(new Event("input", { bubbles: true }));
    }

    // An input method (CJK, accents, a phone's keyboard) composes text in steps: each
    // step is an input event ("n", "ni", "nih"... shown as kana) until a word is picked. The
    // steps are held, not shared; the composed text goes as one change at compositionend.
    // A remote change meanwhile waits too: rewriting the textarea would end the
    // composition under the person's fingers (the browser drops or commits it).
    var composing = null; // {at: index in `text`, rel: Y.RelativePosition of it, remote: bool}

    function onCompositionStart() {
      if (ta.readOnly || composing) { return; }
      onInput(); // whatever was typed before goes first
      var start = ta.selectionStart;
      var end = ta.selectionEnd;
      if (end > start) { // the composition replaces the selection: share that removal now
        text = text.slice(0, start) + text.slice(end);
        doc.transact(function () { ytext.delete(start, end - start); }, LOCAL);
      }
      composing = { at: start, rel: Y.createRelativePositionFromTypeIndex(ytext, start), remote: false };
    }

    function onCompositionEnd() {
      var held = composing;
      if (!held) { return; }
      composing = null;
      if (!held.remote) { onInput(); return; } // nothing came in meanwhile: as typing
      // The textarea is `text` (the shared text when the composition started) with the
      // composed words at held.at; the shared text has the others' changes since. The
      // composed words go where held.rel is now, then the textarea takes the shared text.
      var value = ta.value;
      var tail = text.length - held.at;
      var here = Y.createAbsolutePositionFromRelativePosition(held.rel, doc);
      var index = here ? here.index : ytext.length;
      var edit;
      if (value.length >= text.length && value.slice(0, held.at) === text.slice(0, held.at) &&
          value.slice(value.length - tail) === text.slice(held.at)) {
        edit = { index: index, remove: 0, insert: value.slice(held.at, value.length - tail) };
      } else { // the input method rewrote words around the caret: the same change, moved
        edit = change(text, value, ta.selectionEnd);
        edit.index = Math.max(0, Math.min(ytext.length, index + edit.index - held.at));
        edit.remove = Math.min(edit.remove, ytext.length - edit.index);
      }
      if (edit.remove || edit.insert) {
        doc.transact(function () {
          if (edit.remove) { ytext.delete(edit.index, edit.remove); }
          if (edit.insert) { ytext.insert(edit.index, edit.insert); }
        }, LOCAL);
      }
      var scrollTop = ta.scrollTop;
      var caret = edit.index + edit.insert.length;
      text = ytext.toString();
      ta.value = text;
      ta.setSelectionRange(caret, caret);
      ta.scrollTop = scrollTop;
      notifyEditor();
      publishCaret();
      drawPeople();
    }

    function onInput() {
      if (composing) { return; } // held until compositionend
      var value = ta.value;
      if (value === text) { return; }
      if (ta.readOnly) { ta.value = text; return; } // belt and braces: the server refuses too
      var edit = change(text, value, ta.selectionEnd);
      text = value;
      doc.transact(function () {
        if (edit.remove) { ytext.delete(edit.index, edit.remove); }
        if (edit.insert) { ytext.insert(edit.index, edit.insert); }
      }, LOCAL);
      publishCaret();
    }

    function beforeTransaction(transaction) {
      if (transaction.origin === LOCAL || composing) { return; }
      // (No local edit may be made here: it would join this remote transaction and never
      // be sent. Input events come synchronously, so the textarea holds nothing unseen.)
      saved = {
        start: Y.createRelativePositionFromTypeIndex(ytext, ta.selectionStart),
        end: Y.createRelativePositionFromTypeIndex(ytext, ta.selectionEnd),
        direction: ta.selectionDirection,
        focused: document.activeElement === ta,
        scrollTop: ta.scrollTop
      };
    }

    function onRemote(event, transaction) {
      if (transaction.origin === LOCAL) { return; }
      if (composing) { composing.remote = true; return; } // applied at compositionend
      text = ytext.toString();
      if (ta.value !== text) {
        ta.value = text;
        if (saved) {
          var start = Y.createAbsolutePositionFromRelativePosition(saved.start, doc);
          var end = Y.createAbsolutePositionFromRelativePosition(saved.end, doc);
          if (start && end) { ta.setSelectionRange(start.index, end.index, saved.direction || "none"); }
          ta.scrollTop = saved.scrollTop;
        }
        notifyEditor();
      }
      saved = null;
      drawPeople();
    }

    var caretTimer = null;
    function publishCaret() {
      if (caretTimer) { return; }
      caretTimer = window.setTimeout(function () {
        caretTimer = null;
        var focused = document.activeElement === ta;
        awareness.setLocalStateField("cursor", focused ? {
          anchor: relative(ytext, ta.selectionDirection === "backward" ? ta.selectionEnd : ta.selectionStart),
          head: relative(ytext, ta.selectionDirection === "backward" ? ta.selectionStart : ta.selectionEnd)
        } : null);
      }, 50);
    }

    function people() {
      var found = [];
      awareness.getStates().forEach(function (state, clientId) {
        if (clientId === doc.clientID || !state || !state.user) { return; }
        var anchor = state.cursor ? absolute(doc, state.cursor.anchor) : null;
        var head = state.cursor ? absolute(doc, state.cursor.head) : null;
        found.push({
          clientId: clientId,
          name: String(state.user.name || "Someone").slice(0, 80),
          readOnly: state.user.canEdit === false, // the server says who may write
          colour: colourOf(clientId),
          start: anchor,
          end: head,
          line: head === null ? null : lineNumber(text, head)
        });
      });
      found.sort(function (a, b) { return a.name.localeCompare(b.name) || a.clientId - b.clientId; });
      return found;
    }

    function drawPeople() {
      if (composing && composing.remote) { return; } // the textarea is behind the shared text
      var list = people();
      overlay.draw(text, list.filter(function (p) { return p.start !== null && p.end !== null; }));
      if (options.onPeople) { options.onPeople(list, text); }
    }

    // Undo and redo take back this person's own changes only (the browser's own undo
    // history is lost whenever a remote change rewrites the textarea).
    var undo = new Y.UndoManager(ytext, { trackedOrigins: new Set([LOCAL]), captureTimeout: 500 });
    var IS_MAC = /Mac|iPhone|iPad|iPod/.test(navigator.platform || navigator.userAgent || "");
    function history(redo) {
      if (ta.readOnly || composing) { return; }
      onInput(); // anything typed goes in first
      if (redo) { undo.redo(); } else { undo.undo(); }
    }
    ta.addEventListener("keydown", function (event) {
      var mod = IS_MAC ? event.metaKey && !event.ctrlKey : event.ctrlKey && !event.metaKey;
      if (!mod || event.altKey) { return; }
      var key = (event.key || "").toLowerCase();
      if (key === "z" || event.code === "KeyZ") {
        event.preventDefault();
        history(event.shiftKey);
      } else if ((key === "y" || event.code === "KeyY") && !IS_MAC && !event.shiftKey) {
        event.preventDefault();
        history(true);
      }
    });
    ta.addEventListener("beforeinput", function (event) { // the Edit menu's Undo and Redo
      if (event.inputType === "historyUndo" || event.inputType === "historyRedo") {
        event.preventDefault();
        history(event.inputType === "historyRedo");
      }
    });

    awareness.setLocalStateField("user", { name: options.name || "Someone", colour: colourOf(doc.clientID) });
    ta.addEventListener("input", onInput);
    ta.addEventListener("compositionstart", onCompositionStart);
    ta.addEventListener("compositionend", onCompositionEnd);
    ["select", "keyup", "mouseup", "focus", "blur"].forEach(function (type) { ta.addEventListener(type, publishCaret); });
    document.addEventListener("selectionchange", function () { if (document.activeElement === ta) { publishCaret(); } });
    doc.on("beforeTransaction", beforeTransaction);
    ytext.observe(onRemote);
    awareness.on("change", drawPeople);
    drawPeople();
    notifyEditor();

    return {
      setReadOnly: function (readOnly) { ta.readOnly = readOnly; },
      people: people,
      text: function () { return text; }
    };
  }

  // ---------------------------------------------------------------------------------
  // The page: socket, connection state, presence list, Save version.

  var STATES = {
    connecting: "Connecting to the shared text\u2026",
    live: "Live: your changes are shared as you type.",
    offline: "Offline: keep typing, your changes are kept in this browser (even if you close the page) and merged when the connection returns. Reconnecting\u2026",
    closed: "Live editing stopped: you may no longer edit this text. Reload the page to see it as it is now.",
    unavailable: "Live editing is not available right now: save your changes with \u201cSave revision\u201d."
  };
  /** The same states for a page that follows the text read only (a viewer's). */
  var FOLLOWING = {
    connecting: STATES.connecting,
    live: "Live: the text follows the editors' changes as they type.",
    offline: "Offline: the text shown may be behind. Reconnecting\u2026",
    closed: "Following stopped: you may no longer read this text here. Reload the page to see it as it is now.",
    unavailable: "The live text cannot be followed right now: this is the text as it was when the page was opened."
  };

  /** The server closes with 1008 (policy) when this person may no longer write, or the
   * letter was frozen: coming back would be refused again. Anything else reconnects. */
  function shouldReconnect(event) {
    return event.code !== 1008 && !(event.code >= 4400 && event.code < 4500);
  }

  /** y-protocols' auth message (type 2): kind 0 is "permission denied" and a reason. The
   * server sends it before it closes a socket it refuses (the page would be refused again),
   * so the page can say why whatever close code the browser sees (1006 behind Werkzeug). */
  var MESSAGE_AUTH = 2;
  /** After this many attempts in a row that did not open, the page asks its own address
   * whether it is still allowed (a refused handshake looks like a dropped connection). */
  var PROBE_AFTER_FAILURES = 2;
  var PROBE_EVERY_MS = 10000;

  function readVarUint(decoder) { // lib0's encoding, as y-protocols writes it
    var value = 0, factor = 1, byte;
    do {
      if (decoder.pos >= decoder.arr.length) { return value; }
      byte = decoder.arr[decoder.pos++];
      value += (byte & 0x7f) * factor;
      factor *= 128;
    } while (byte >= 0x80);
    return value;
  }

  function readVarString(decoder) {
    var length = readVarUint(decoder);
    var bytes = decoder.arr.subarray(decoder.pos, decoder.pos + length);
    decoder.pos += length;
    return new TextDecoder().decode(bytes);
  }

  // ---------------------------------------------------------------------------------
  // Changes the server has not confirmed yet, kept in this browser (localStorage) so that
  // closing the tab while offline loses nothing: the next visit merges them.

  var UNSENT_PREFIX = "signon-live-unsent:";
  /** The largest copy kept (base64 characters, about 1.1 MB of updates): a whole letter
   * typed offline fits; beyond it the page still holds the changes, the browser does not. */
  var UNSENT_MAX_CHARS = 1500000;
  var UNSENT_WRITE_MS = 300;
  /** How soon after a change the page asks the server to confirm it has everything. */
  var CONFIRM_DELAY_MS = 1000;
  /** The transaction origin of changes brought back from the browser's copy. */
  var RESTORED = { restored: true };

  function toBase64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return window.btoa(text);
  }

  function fromBase64(text) {
    var raw = window.atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  /** The Yjs updates made in this page that the server has not confirmed (each numbered),
   * mirrored in localStorage under "signon-live-unsent:<person>:<letter>" as one merged
   * update, written at most every UNSENT_WRITE_MS and when the page is hidden. */
  function Unsent(name) {
    this.key = name ? UNSENT_PREFIX + name : null;
    this.entries = [];
    this.seq = 0;
    this.timer = null;
  }
  Unsent.prototype.storage = function () {
    try { return this.key ? window.localStorage : null; } catch (e) { return null; }
  };
  /** What an earlier visit left (an update), or null; the copy is then forgotten: whatever
   * of it the document lacks comes back through add() when it is applied. */
  Unsent.prototype.take = function () {
    var store = this.storage();
    if (!store) { return null; }
    try {
      var kept = JSON.parse(store.getItem(this.key) || "null");
      store.removeItem(this.key);
      return kept && typeof kept.update === "string" ? fromBase64(kept.update) : null;
    } catch (e) { return null; }
  };
  Unsent.prototype.add = function (update) {
    this.seq += 1;
    this.entries.push({ seq: this.seq, update: update });
    this.writeSoon();
  };
  /** The server has stored everything up to ``seq``. */
  Unsent.prototype.confirm = function (seq) {
    var before = this.entries.length;
    this.entries = this.entries.filter(function (e) { return e.seq > seq; });
    if (this.entries.length !== before) { this.write(); }
  };
  Unsent.prototype.writeSoon = function () {
    if (this.timer) { return; }
    var self = this;
    this.timer = window.setTimeout(function () { self.timer = null; self.write(); }, UNSENT_WRITE_MS);
  };
  /** ``collapse``: merge the entries into one (no confirmation can be on its way: offline). */
  Unsent.prototype.write = function (collapse) {
    if (this.timer) { window.clearTimeout(this.timer); this.timer = null; }
    var store = this.storage();
    if (!store) { return; }
    try {
      if (!this.entries.length) { store.removeItem(this.key); return; }
      var merged = this.entries.length === 1 ? this.entries[0].update :
        Y.mergeUpdates(this.entries.map(function (e) { return e.update; }));
      if (collapse) { this.entries = [{ seq: this.seq, update: merged }]; }
      var text = toBase64(merged);
      if (text.length > UNSENT_MAX_CHARS) { store.removeItem(this.key); return; }
      store.setItem(this.key, JSON.stringify({ update: text, at: Date.now() }));
    } catch (e) { /* storage full or refused: the page still holds the changes */ }
  };

  /** y-websocket's sync step 1 (message 0, kind 0) with this state vector. */
  function syncStep1(stateVector) {
    var head = [0, 0];
    var length = stateVector.length;
    while (length > 0x7f) { head.push(0x80 | (length & 0x7f)); length = Math.floor(length / 128); }
    head.push(length);
    var message = new Uint8Array(head.length + stateVector.length);
    message.set(head, 0);
    message.set(stateVector, head.length);
    return message;
  }

  /** Signon's own message from the server (protocol.SAVED): a version was saved. */
  var MESSAGE_SAVED = 100;

  /** Whether the document described by Yjs snapshot `outer` holds everything `inner` does:
   * every item (its state vector reaches as far for each client id) and every deletion. */
  function snapshotHolds(outer, inner) {
    var beyond = false;
    inner.sv.forEach(function (clock, client) { if (clock > (outer.sv.get(client) || 0)) { beyond = true; } });
    return !beyond && Y.equalDeleteSets(Y.mergeDeleteSets([outer.ds]), Y.mergeDeleteSets([outer.ds, inner.ds]));
  }

  /** On the page that follows the text read only: whether the live text has changes in no
   * revision yet ([data-live-unsaved]) and which is the last saved revision
   * ([data-live-last-saved]), as of page load, then kept true: the server says when a
   * version is saved (MESSAGE_SAVED), and a change of the text after it makes it unsaved
   * again (back to the saved text: the same again). Null on other pages.
   *
   * The saved message leaves from the saving request's thread and can arrive before the
   * last keystrokes the typist's socket relays (which the revision holds), so the page
   * does not take its text at that moment for the saved one: the message carries the
   * saved document's Yjs snapshot (state vector and delete set) and the page compares its
   * own document with it. A document the snapshot holds entirely has nothing unsaved (it
   * may still be on its way to the saved text); once it is exactly the snapshot, its text
   * is the saved text, and once it holds more, it has changes in no revision. Without a snapshot (a classic save: no state of the live document
   * is that revision) the server's word is taken. */
  function followSaves(live, ta) {
    var note = document.querySelector("[data-live-unsaved]");
    if (!note) { return null; }
    var last = document.querySelector("[data-live-last-saved]");
    var revision = note.getAttribute("data-live-revision");
    // The last saved version's text, when the page knows it: the text as loaded, unless
    // it already had changes in no revision.
    var savedText = note.hasAttribute("data-live-unsaved-at-load") ? null : ta.defaultValue;
    var savedSnapshot = null; // the saved version's document, until the page has reached it
    var shown = null;
    function show(unsaved) {
      if (unsaved === shown) { return; }
      shown = unsaved;
      note.textContent = unsaved
        ? "The live text has changes that are not in revision " + revision + " yet."
        : "The live text is the same as revision " + revision + ".";
    }
    function compare() {
      if (savedSnapshot) {
        var mine = Y.snapshot(live.doc);
        if (snapshotHolds(savedSnapshot, mine)) {
          if (snapshotHolds(mine, savedSnapshot)) { // the saved document itself
            savedText = live.text.toString();
            savedSnapshot = null;
          }
          show(false);
          return;
        }
        savedSnapshot = null; // beyond it: a document only grows, it never will be again
      }
      show(savedText === null || live.text.toString() !== savedText);
    }
    live.text.observe(function () { if (live.binding) { compare(); } });
    return {
      synced: function () { // changes made between the page's load and its socket's
        if (savedSnapshot || savedText === null || live.text.toString() !== savedText) { compare(); }
      },
      saved: function (state) {
        revision = String(state.revision);
        shown = null;
        savedSnapshot = null;
        if (typeof state.snapshot === "string") {
          try { savedSnapshot = Y.decodeSnapshot(fromBase64(state.snapshot)); } catch (error) { savedSnapshot = null; }
        }
        if (savedSnapshot) {
          savedText = null;
          compare();
        } else {
          savedText = state.unsaved ? null : live.text.toString();
          show(Boolean(state.unsaved));
        }
        if (last) { showLastSaved(last, state); }
      }
    };
  }

  function showLastSaved(last, state) {
    var old = last.querySelector("a");
    var link = element("a", "", "revision " + state.revision);
    if (old) { link.href = old.getAttribute("href").replace(/\/\d+$/, "/" + state.revision); }
    var when = new Date(state.saved_at);
    var words = ", saved " + (isNaN(when.getTime()) ? "just now"
      : window.signonTime(when, true)); // as the server writes it (static/js/timefmt.js)
    if (state.author) { words += " by " + state.author; }
    while (last.firstChild) { last.removeChild(last.firstChild); }
    last.appendChild(document.createTextNode("The last saved version is "));
    last.appendChild(link);
    last.appendChild(document.createTextNode(words + "."));
  }

  function socketBase(path) {
    var url = new URL(path, window.location.href); // a path on this site, or a ws(s):// address
    if (url.protocol === "https:") { url.protocol = "wss:"; }
    if (url.protocol === "http:") { url.protocol = "ws:"; }
    var cut = url.pathname.lastIndexOf("/");
    return { server: url.origin + url.pathname.slice(0, cut), room: url.pathname.slice(cut + 1) };
  }

  function start(panel) {
    var ta = document.getElementById(panel.getAttribute("data-live-for") || "");
    if (!ta || !window.SignonEditor || typeof window.WebSocket !== "function") { return null; }
    var editor = window.SignonEditor.editorFor(ta);
    var csrfToken = window.SignonEditor.csrfToken;
    var form = ta.form;
    var readOnly = panel.hasAttribute("data-live-readonly");
    var stateEl = panel.querySelector("[data-live-state]");
    var peopleEl = panel.querySelector("[data-live-people]");
    var announcer = panel.querySelector("[data-live-announce]");
    var saveButton = panel.querySelector("[data-live-save]");
    var saveStatus = panel.querySelector("[data-live-save-status]");
    // The form's own buttons (Save revision, Suggest instead...) post the textarea the
    // classic way: hidden while the text is shared, which "Save version" then saves.
    var classic = form ? Array.prototype.slice.call(form.querySelectorAll(
      "[data-live-classic], button[type=submit], input[type=submit]")) : [];
    var wasReadOnly = ta.readOnly;
    var live = { doc: new Y.Doc(), binding: null, state: "connecting", provider: null };
    live.text = live.doc.getText("markdown");

    function setState(state, detail) {
      live.state = state;
      panel.setAttribute("data-live-state", state);
      var words = (readOnly ? FOLLOWING : STATES)[state];
      if (stateEl) { stateEl.textContent = state === "closed" ? detail || words : words + (detail || ""); }
      if (saveButton) { saveButton.disabled = state !== "live" || readOnly; }
    }

    function announce(message) {
      if (!announcer) { return; }
      // A new text node each time, so that the same message twice is announced twice.
      announcer.textContent = "";
      window.setTimeout(function () { announcer.textContent = message; }, 50);
    }

    var known = {};
    function showPeople(list, text) {
      var now = {};
      list.forEach(function (p) { now[p.clientId] = p.name; });
      Object.keys(now).forEach(function (id) { if (!(id in known)) { announce(now[id] + " joined the text."); } });
      Object.keys(known).forEach(function (id) { if (!(id in now)) { announce(known[id] + " left the text."); } });
      known = now;
      if (!peopleEl) { return; }
      while (peopleEl.firstChild) { peopleEl.removeChild(peopleEl.firstChild); }
      if (!list.length) {
        peopleEl.appendChild(element("li", "muted", "Nobody else is in the text."));
        return;
      }
      list.forEach(function (p) {
        var item = element("li", "live-person");
        item.setAttribute("data-live-person", p.name);
        var swatch = element("span", "live-swatch");
        swatch.style.backgroundColor = p.colour;
        swatch.setAttribute("aria-hidden", "true");
        item.appendChild(swatch);
        var where = p.readOnly ? " \u2014 following (read only)" : p.line ? " \u2014 line " + p.line : " \u2014 reading";
        item.appendChild(document.createTextNode(p.name + where));
        peopleEl.appendChild(item);
      });
      void text;
    }

    panel.hidden = false;
    ta.readOnly = true; // until the shared text has arrived
    setState("connecting");
    var where = socketBase(panel.getAttribute("data-live-url"));
    var provider = new WebsocketProvider(where.server, where.room, live.doc, {
      disableBc: true, // every change goes through the server, which checks it
      maxBackoffTime: 5000,
      shouldReconnect: shouldReconnect
    });
    live.provider = provider;

    var timeout = window.setTimeout(function () {
      if (live.binding) { return; }
      provider.destroy(); // stay the classic form
      ta.readOnly = wasReadOnly;
      setState("unavailable");
    }, CONNECT_TIMEOUT_MS);

    // Every change made here is kept (Unsent) until the server confirms it has it. The
    // server handles a socket's messages in order and stores a change before it reads the
    // next message, so its sync step 2 answering a step 1 sent after some changes means
    // those are stored: the page sends such a step 1 a second after it changes the text
    // (the first step 2 of each connection answers the provider's own step 1).
    var unsent = new Unsent(readOnly ? "" : panel.getAttribute("data-live-store"));
    var marks = [], firstAnswer = true, confirmTimer = null, asked = 0;
    live.unsent = unsent;
    live.doc.on("update", function (update, origin) {
      if (origin === provider || readOnly) { return; } // the server's own
      unsent.add(update);
      confirmSoon();
    });
    function confirmSoon() {
      if (confirmTimer) { return; }
      confirmTimer = window.setTimeout(function () {
        confirmTimer = null;
        var ws = provider.ws;
        if (!ws || ws.readyState !== 1 || !provider.synced || !unsent.entries.length || asked === unsent.seq) { return; }
        asked = unsent.seq;
        marks.push(asked);
        ws.send(syncStep1(Y.encodeStateVector(live.doc)));
      }, CONFIRM_DELAY_MS);
    }
    var syncHandler = provider.messageHandlers[0];
    provider.messageHandlers[0] = function (encoder, decoder) {
      var kind = decoder.arr[decoder.pos]; // 0 step 1, 1 step 2, 2 update
      var result = syncHandler.apply(this, arguments);
      if (kind === 1) {
        if (firstAnswer) { firstAnswer = false; } else if (marks.length) { unsent.confirm(marks.shift()); }
      }
      return result;
    };
    provider.on("status", function (event) {
      if (event.status === "connected") { marks = []; firstAnswer = true; asked = 0; }
      else if (event.status === "disconnected") { unsent.write(true); }
    });
    window.addEventListener("pagehide", function () { unsent.write(!provider.wsconnected); });

    provider.on("sync", function (synced) {
      if (!synced) { return; }
      confirmSoon();
      if (!live.binding) {
        window.clearTimeout(timeout);
        live.binding = bind(ta, live.text, provider.awareness, {
          name: panel.getAttribute("data-live-name") || "Someone",
          readOnly: readOnly,
          onPeople: showPeople
        });
        editor.live = { shared: function () { return live.state === "live" || live.state === "offline"; } };
        classic.forEach(function (el) { el.hidden = true; });
        if (saveButton) { saveButton.hidden = readOnly; }
        if (saves) { saves.synced(); }
        // The live document is the text only: the title is changed by a classic save.
        var title = form && form.elements.namedItem("title");
        if (title && "readOnly" in title) { title.readOnly = true; }
        // A live version's change note is written by the server (who took part).
        var note = form && form.elements.namedItem("change_note");
        var noteField = note && note.closest ? note.closest(".field") : null;
        if (noteField) { noteField.hidden = true; }
        // What an earlier visit typed and the server never confirmed (the tab was closed
        // offline): merged now; the CRDT keeps what the server already has once.
        var earlier = readOnly ? null : unsent.take();
        if (earlier) {
          Y.applyUpdate(live.doc, earlier, RESTORED);
          if (unsent.entries.length) {
            if (saveStatus) { saveStatus.textContent = "Changes typed here earlier while offline were merged into the text."; }
            announce("Changes typed here earlier while offline were merged into the text.");
          }
        }
      }
      setState("live");
    });
    provider.on("status", function (event) {
      if (!live.binding) { return; } // still connecting (or given up)
      if (event.status === "disconnected" || event.status === "connecting") {
        if (live.state === "live") { announce("Connection lost: reconnecting."); }
        if (live.state !== "closed") { setState("offline"); }
      }
    });
    /** Refused: stop reconnecting, make the text read-only and say why. What was typed
     * stays in the textarea (the person can copy it). */
    function refused(reason) {
      if (live.state === "closed") { return; }
      provider.shouldConnect = false; // y-websocket: no more attempts
      window.clearTimeout(timeout);
      live.binding && live.binding.setReadOnly(true);
      ta.readOnly = true;
      setState("closed", reason);
      announce(stateEl ? stateEl.textContent : "Live editing stopped.");
    }
    provider.messageHandlers[MESSAGE_AUTH] = function (encoder, decoder) {
      var denied = readVarUint(decoder) === 0;
      refused(denied ? readVarString(decoder) : "");
    };
    var saves = followSaves(live, ta);
    provider.messageHandlers[MESSAGE_SAVED] = function (encoder, decoder) {
      var state;
      try { state = JSON.parse(readVarString(decoder)); } catch (error) { return; }
      if (saves && state && state.revision) { saves.saved(state); }
    };
    provider.on("closed", function (event) { // the server said not to come back (1008, 4xxx)
      refused(event && event.reason);
    });
    // A refused handshake (404, 403, 409 or a redirect to the login page) reaches the page as
    // a socket that would not open, like a dropped network. After a few such attempts in a
    // row, the page asks its own address: an answer other than the page means refused; no
    // answer at all means offline, and the attempts go on.
    var probing = false, probedAt = 0;
    provider.on("connection-close", function () {
      var now = Date.now();
      if (probing || provider.wsUnsuccessfulReconnects < PROBE_AFTER_FAILURES ||
          now - probedAt < PROBE_EVERY_MS || !provider.shouldConnect) { return; }
      probing = true;
      probedAt = now;
      window.fetch(window.location.href, {
        credentials: "same-origin", redirect: "manual", cache: "no-store", headers: { "Accept": "text/html" }
      }).then(function (response) {
        if (response.type === "opaqueredirect" || [401, 403, 404, 409, 410].indexOf(response.status) !== -1) {
          refused("");
        }
      }).catch(function () { /* offline: keep trying */ }).then(function () { probing = false; });
    });

    function saveVersion(event) {
      if (event) { event.preventDefault(); }
      if (live.state !== "live" || readOnly || !saveButton || saveButton.disabled) { return; }
      var url = panel.getAttribute("data-live-save-url");
      var body = new FormData();
      body.append("csrf_token", csrfToken(form));
      saveButton.disabled = true;
      if (saveStatus) { saveStatus.textContent = "Saving\u2026"; }
      window.fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": csrfToken(form) }
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) { throw new Error(data.error || data.message || "the server said " + response.status); }
          return data;
        });
      }).then(function (data) {
        if (saveStatus) {
          saveStatus.textContent = data.message ||
            (data.revision ? "Saved as revision " + data.revision + "." : "Saved.");
          if (data.draft_url) { // kept as a conflict draft: say where
            var link = element("a", "", "Open the draft");
            link.href = data.draft_url;
            saveStatus.appendChild(document.createTextNode(" "));
            saveStatus.appendChild(link);
          }
        }
      }).catch(function (error) {
        if (saveStatus) { saveStatus.textContent = "Not saved: " + error.message + ". Try again."; }
      }).then(function () {
        saveButton.disabled = live.state !== "live";
      });
    }
    if (saveButton) { saveButton.addEventListener("click", saveVersion); }
    // Enter in the title field submits the form: while live, that saves a version.
    if (form) {
      form.addEventListener("submit", function (event) {
        if (live.binding && live.state !== "closed") { saveVersion(event); }
      });
    }
    return live;
  }

  var pages = [];
  function startAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-for]"), function (panel) {
      var live = start(panel);
      if (live) { pages.push(live); }
    });
  }

  window.SignonLive = { bind: bind, change: change, sessions: pages, Y: Y };

  // After editor.js (a deferred script placed later in the page runs before DOMContentLoaded).
  if (document.readyState === "loading" || !window.SignonEditor) {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
