// Small DOM builders. Everything from messages goes in as textContent, never as markup:
// generated code and summaries are untrusted text, and the page's CSP forbids inline styles.

type Child = Node | string | null | undefined | false;

export interface Props {
  cls?: string;
  text?: string;
  attrs?: Record<string, string>;
  data?: Record<string, string>;
}

function apply(node: HTMLElement, props: Props | undefined, children: Child[]): void {
  if (props?.cls) node.className = props.cls;
  if (props?.text !== undefined) node.textContent = props.text;
  if (props?.attrs) for (const [k, v] of Object.entries(props.attrs)) node.setAttribute(k, v);
  if (props?.data) Object.assign(node.dataset, props.data);
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  apply(node, props, children);
  return node;
}

/** A custom element (the UI toolkit's vscode-* tags), typed as a plain HTMLElement. */
export function custom(tag: string, props?: Props, ...children: Child[]): HTMLElement {
  const node = document.createElement(tag);
  apply(node, props, children);
  return node;
}

/** True when keyboard input belongs to a text field (arrows there must not step iterations). */
export function isTextInput(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName.toLowerCase();
  if (tag === 'textarea' || tag === 'select' || tag === 'vscode-text-field' || tag === 'vscode-text-area' || tag === 'vscode-dropdown') return true;
  if (tag === 'input') return !['button', 'checkbox', 'radio', 'range', 'submit', 'reset'].includes((target as HTMLInputElement).type);
  return false;
}

/**
 * A busy indicator and a count badge drawn with the panel's own CSS: the toolkit's versions put
 * inline style attributes in their templates, which the panel's CSP (rightly) refuses.
 */
export function spinner(label = 'Loading'): HTMLElement {
  return el('span', { cls: 'spinner', attrs: { role: 'progressbar', 'aria-label': label } });
}

/** A spinner and a line of text, while something is on its way from the host. */
export function loadingNote(text = 'Loading…', cls = 'detail-loading'): HTMLElement {
  return el('div', { cls }, spinner(), el('span', { text }));
}

export function badge(text = '', cls = ''): HTMLElement {
  return el('span', { cls: `count-badge${cls ? ` ${cls}` : ''}`, text });
}
