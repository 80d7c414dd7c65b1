/** Small DOM helpers: elements are built with text nodes only, never from HTML strings. */

type Child = Node | string | false | null | undefined;
type Attrs = Record<string, string | number | boolean | undefined>;

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
}

const children = (list: Child[]): (Node | string)[] => list.filter((c): c is Node | string => c !== false && c !== null && c !== undefined);

/** An HTML element with attributes and children (strings become text). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...kids: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  el.append(...children(kids));
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and children. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...kids: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  el.append(...children(kids));
  return el;
}

/** The element with this id; throws when the page lacks it (a build mistake, not a user error). */
export function byId<T extends Element = HTMLElement>(id: string): T {
  // querySelector is typed for any element (SVG too); the page's ids are plain words.
  const el = document.querySelector<T>(`#${id}`);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}

/** Sets text only when it changed, so live updates do not touch the DOM (or screen readers) needlessly. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}
