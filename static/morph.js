/* htag-sse DOM morph: turn a live element into a new rendering of it in place.
 *
 * Used when the server sends a whole new <body> (a rerun after a restart, a
 * refresh after lost events). Elements are matched by position and tag name
 * (htag's ids change on a rerun, so ids cannot pair them); matched elements
 * are kept and their attributes and text updated, so the scroll position,
 * the focused element, the selection and text the user typed survive: the
 * browser keeps an edited input's value when only its value attribute
 * changes.
 */
(function () {
  "use strict";

  function syncAttributes(from, to) {
    for (const { name } of Array.from(from.attributes)) {
      if (!to.hasAttribute(name)) from.removeAttribute(name);
    }
    for (const { name, value } of Array.from(to.attributes)) {
      if (from.getAttribute(name) !== value) from.setAttribute(name, value);
    }
  }

  function sameKind(a, b) {
    return a.nodeType === b.nodeType && a.nodeName === b.nodeName;
  }

  function morphChildren(from, to) {
    const olds = Array.from(from.childNodes);
    const news = Array.from(to.childNodes);
    news.forEach((node, i) => {
      const old = olds[i];
      if (!old) from.appendChild(node);
      else if (!sameKind(old, node)) from.replaceChild(node, old);
      else if (node.nodeType === Node.ELEMENT_NODE) morph(old, node);
      else if (old.nodeValue !== node.nodeValue) old.nodeValue = node.nodeValue;
    });
    olds.slice(news.length).forEach((node) => node.remove());
  }

  /** Make `from` (in the document) look like `to` (detached); return the live element. */
  function morph(from, to) {
    if (!sameKind(from, to)) {
      from.replaceWith(to);
      return to;
    }
    syncAttributes(from, to);
    morphChildren(from, to);
    return from;
  }

  /** Morph document.body into the body described by `html` ("<body ...>...</body>"). */
  function morphBody(html) {
    const parsed = new DOMParser().parseFromString("<!DOCTYPE html><html>" + html + "</html>", "text/html");
    return morph(document.body, parsed.body);
  }

  window.htagMorph = { morph, morphBody };
})();
