/* htag-sse DOM morph: turn a live element into a new rendering of it in place.
 *
 * Used for every update (an interaction's answer, a pushed event) and for a
 * whole new <body>. Matched elements are kept and their attributes and
 * children brought up to date, so what the user has in hand survives: the
 * focused element, the caret and selection, what was typed, scroll positions
 * (of the page and of scrolled elements), <details>/<dialog> open or closed.
 *
 * Pairing: an update pairs elements by id (htag gives every tag id="<python
 * id>", stable for the page's life), then the others by position and tag name;
 * a rerun's body (all its ids are new) pairs by position and tag name only.
 *
 * Form values: the server wins when its new rendering gives a value (checked,
 * selected, a textarea's text, details/dialog open) different from its last
 * rendering of it; otherwise the user's live value stays.
 *
 * Elements named in `fresh` (tags whose js runs again with this update) are
 * made anew, as htag's outerHTML did, so what their js sets up on them is set
 * up once; their children are still morphed, and the user's state carried over.
 */
(function () {
  "use strict";

  const ELEMENT = 1;
  const SVG = "http://www.w3.org/2000/svg";
  /** What the server last rendered for `open`: the live attribute is the user's. */
  const served = new WeakMap();
  const OPENABLE = ["DETAILS", "DIALOG"];
  /** Inputs whose value is not their `value` attribute's job to hold. */
  const NOT_TYPED = ["checkbox", "radio", "file", "button", "submit", "reset", "image", "hidden"];

  /** Note what the server rendered for the <details>/<dialog> in `node` (a new one, or the first page). */
  function remember(node) {
    if (node.nodeType === ELEMENT && OPENABLE.includes(node.nodeName)) served.set(node, node.hasAttribute("open"));
    if (node.querySelectorAll) for (const el of node.querySelectorAll("details, dialog")) served.set(el, el.hasAttribute("open"));
  }

  // ------------------------------------------------------------ form state
  const typed = (el) => el.nodeName === "INPUT" && !NOT_TYPED.includes(el.type);
  const toggled = (el) => el.nodeName === "INPUT" && (el.type === "checkbox" || el.type === "radio");
  const selection = (select) => Array.from(select.options, (o) => o.hasAttribute("selected"));

  /** The user's state of a form element or details/dialog, and what the server last rendered of it. */
  function userState(el) {
    const name = el.nodeName;
    if (name === "INPUT") {
      return { value: el.value, rendered: el.getAttribute("value"), checked: el.checked, renderedChecked: el.hasAttribute("checked") };
    }
    if (name === "TEXTAREA") return { value: el.value, rendered: el.defaultValue };
    if (name === "SELECT") return { chosen: new Map(Array.from(el.options, (o) => [o, o.selected])), rendered: selection(el) };
    if (OPENABLE.includes(name)) return { open: el.hasAttribute("open"), rendered: served.get(el) };
    return null;
  }

  /** After `el` took the server's new rendering: the server's value where it changed, else the user's. */
  function settle(el, was) {
    const name = el.nodeName;
    if (name === "INPUT" && typed(el)) {
      const now = el.getAttribute("value");
      const want = now !== was.rendered ? (now === null ? "" : now) : was.value;
      if (el.value !== want) el.value = want;
    } else if (toggled(el)) {
      const now = el.hasAttribute("checked");
      const want = now !== was.renderedChecked ? now : was.checked;
      if (el.checked !== want) el.checked = want;
    } else if (name === "TEXTAREA") {
      const now = el.defaultValue;
      const want = now !== was.rendered ? now : was.value;
      if (el.value !== want) el.value = want;
    } else if (name === "SELECT") {
      const now = selection(el);
      if (now.length !== was.rendered.length || now.some((s, i) => s !== was.rendered[i])) {  // the server's choice
        for (const o of el.options) o.selected = o.defaultSelected;
        if (!el.multiple && !now.includes(true)) el.selectedIndex = Array.from(el.options).findIndex((o) => !o.disabled);
      } else {
        for (const o of el.options) if (was.chosen.has(o) && o.selected !== was.chosen.get(o)) o.selected = was.chosen.get(o);
      }
    } else if (OPENABLE.includes(name)) {
      const now = served.get(el);  // set by syncAttributes from the new rendering
      const want = was.rendered !== undefined && now !== was.rendered ? now : was.open;
      if (el.hasAttribute("open") !== want) {
        if (!want && typeof el.close === "function") el.close();  // a modal <dialog> leaves the top layer
        else el.toggleAttribute("open", want);
      }
    }
  }

  // ------------------------------------------------------------ the morph
  function syncAttributes(from, to) {
    const openable = OPENABLE.includes(from.nodeName);
    for (const { name } of Array.from(from.attributes)) {
      if (!to.hasAttribute(name) && !(openable && name === "open")) from.removeAttribute(name);
    }
    for (const { name, value } of Array.from(to.attributes)) {
      if (from.getAttribute(name) !== value && !(openable && name === "open")) from.setAttribute(name, value);
    }
    if (openable) served.set(from, to.hasAttribute("open"));  // open or not: settle() decides
  }

  function sameKind(a, b) {
    return a.nodeType === b.nodeType && a.nodeName === b.nodeName;
  }

  /** May `old` (no id of its own) take the new rendering `node` by position? */
  function pairable(old, node, ctx) {
    return sameKind(old, node) && !(ctx.byId && old.nodeType === ELEMENT && old.id);
  }

  function insert(parent, node, before) {
    parent.insertBefore(node, before);
    remember(node);
  }

  /** Take `node`'s children out (into a fragment): `node` goes in empty, then its children are
   * morphed in, so that they may be elements of the live tree (paired by id). Nodes are moved,
   * never cloned: a <script> keeps its "already started" (it never runs, as with outerHTML). */
  function emptied(node) {
    const kids = node.ownerDocument.createDocumentFragment();
    while (node.firstChild) kids.appendChild(node.firstChild);
    return kids;
  }

  function morphChildren(from, to, ctx) {
    let cursor = from.firstChild;
    for (const node of Array.from(to.childNodes)) {
      const id = ctx.byId && node.nodeType === ELEMENT ? node.id : "";
      if (id) {  // the element of that id, wherever it was in the updated tag
        const old = ctx.pool.get(id);
        if (old && !ctx.used.has(old) && old.nodeName === node.nodeName && !old.contains(from)) {
          ctx.used.add(old);
          if (old === cursor) cursor = cursor.nextSibling;
          else from.insertBefore(old, cursor);
          morphElement(old, node, ctx);
        } else {  // a new element, which may hold elements of the old tree
          const kids = emptied(node);
          insert(from, node, cursor);
          morphChildren(node, kids, ctx);
        }
      } else if (cursor && pairable(cursor, node, ctx)) {
        const next = cursor.nextSibling;
        if (node.nodeType === ELEMENT) morphElement(cursor, node, ctx);
        else if (cursor.nodeValue !== node.nodeValue) cursor.nodeValue = node.nodeValue;
        cursor = next;
      } else if (cursor && !ctx.byId) {  // by position: the new node takes the old one's place
        const next = cursor.nextSibling;
        from.replaceChild(node, cursor);
        remember(node);
        cursor = next;
      } else {
        insert(from, node, cursor);
      }
    }
    while (cursor) {  // what the new rendering no longer has
      const next = cursor.nextSibling;
      cursor.remove();
      cursor = next;
    }
  }

  /** A new element for `from` (its tag's js runs again), with `from`'s children morphed into it. */
  function rebuild(from, to, ctx) {
    const kids = emptied(to);
    from.replaceWith(to);
    while (from.firstChild) to.appendChild(from.firstChild);
    if (OPENABLE.includes(to.nodeName)) served.set(to, to.hasAttribute("open"));
    morphChildren(to, kids, ctx);
    ctx.replaced.set(from, to);
    return to;
  }

  /** Make `from` (live) look like `to` (detached); return the live element. */
  function morphElement(from, to, ctx) {
    if (!sameKind(from, to)) {
      from.replaceWith(to);
      remember(to);
      return to;
    }
    const was = userState(from);
    let live = from;
    if (from.id && ctx.fresh.has(from.id)) {
      live = rebuild(from, to, ctx);
    } else {
      syncAttributes(from, to);
      morphChildren(from, to, ctx);
    }
    if (was) settle(live, was);
    return live;
  }

  // ------------------------------------------------------------ what survives the morph
  /** Run `change` (which morphs `scope`); put back what moving or rebuilding elements loses:
   * focus, caret and selection, scroll positions (of the page and of scrolled elements). */
  function preserving(scope, ctx, change) {
    const doc = scope.ownerDocument, win = doc.defaultView;
    const focused = doc.activeElement;
    const focus = focused && focused !== doc.body && scope.contains(focused) ? {
      el: focused,
      value: focused.value,
      range: typeof focused.selectionStart === "number" ? [focused.selectionStart, focused.selectionEnd, focused.selectionDirection] : null,
    } : null;
    const scrolled = [];
    for (const el of [scope, ...scope.querySelectorAll("*")]) {
      if (el.scrollTop || el.scrollLeft) scrolled.push([el, el.scrollTop, el.scrollLeft]);
    }
    const page = [win.scrollX, win.scrollY];
    const live = (el) => ctx.replaced.get(el) || el;
    const result = change();
    for (const [el, top, left] of scrolled) {
      const now = live(el);
      if (now.isConnected && (now.scrollTop !== top || now.scrollLeft !== left)) { now.scrollTop = top; now.scrollLeft = left; }
    }
    if (focus) {
      const now = live(focus.el);
      if (now.isConnected && doc.activeElement !== now) {
        now.focus({ preventScroll: true });
        if (focus.range && now.value === focus.value) {
          try { now.setSelectionRange(...focus.range); } catch (e) { /* an input type without a selection */ }
        }
      }
    }
    if (win.scrollX !== page[0] || win.scrollY !== page[1]) win.scrollTo(page[0], page[1]);
    return result;
  }

  function context(options, root) {
    const ctx = { byId: !!options.byId, fresh: options.fresh || new Set(), pool: new Map(), used: new Set([root]), replaced: new Map() };
    if (ctx.byId) {
      for (const el of root.querySelectorAll("[id]")) if (!ctx.pool.has(el.id)) ctx.pool.set(el.id, el);
    }
    return ctx;
  }

  /** `html` parsed as the one element it renders, in `el`'s context; null if it is not one element. */
  function parse(el, html) {
    const doc = el.ownerDocument;
    if (el.nodeName === "BODY") return new DOMParser().parseFromString("<!DOCTYPE html><html>" + html + "</html>", "text/html").body;
    let holder;
    const template = doc.createElement("template");  // scripts in it never run, as with outerHTML
    if (el.namespaceURI === SVG) {
      template.innerHTML = "<svg>" + html + "</svg>";
      holder = template.content.firstElementChild;
    } else {
      template.innerHTML = html;
      holder = template.content;
    }
    const nodes = Array.from(holder.childNodes).filter((n) => n.nodeType === ELEMENT || n.nodeValue.trim());
    return nodes.length === 1 && nodes[0].nodeType === ELEMENT ? nodes[0] : null;
  }

  /** An update: morph the live element `el` into `html`, its new rendering (the same tag:
   * elements paired by id). options.fresh: ids of the tags whose js runs again. */
  function update(el, html, options) {
    const to = parse(el, html);
    if (!to || to.nodeName !== el.nodeName) {  // not one element of the same kind: htag's way
      el.outerHTML = html;
      return null;
    }
    const ctx = context(Object.assign({}, options, { byId: true }), el);
    return preserving(el, ctx, () => morphElement(el, to, ctx));
  }

  /** A whole new body ("<body ...>...</body>"). By position (a rerun: all ids are new),
   * or with options.byId (the same page's body again). */
  function morphBody(html, options) {
    const parsed = new DOMParser().parseFromString("<!DOCTYPE html><html>" + html + "</html>", "text/html");
    const body = document.body;
    const ctx = context(options || {}, body);
    return preserving(body, ctx, () => morphElement(body, parsed.body, ctx));
  }

  /** Morph `from` into `to` (detached), by position: what morph.js did before updates were morphed too. */
  function morph(from, to) {
    return morphElement(from, to, context({}, from));
  }

  window.htagMorph = { morph, morphBody, update, remember };
})();
