// Colors for the canvas charts, read from VS Code's theme variables at render time (a canvas
// cannot use CSS variables), and a hook to redraw when the theme changes.

export interface Palette {
  blue: string;
  orange: string;
  green: string;
  red: string;
  yellow: string;
  purple: string;
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  hoverBackground: string;
  hoverBorder: string;
  fontFamily: string;
  fontSize: number;
  highContrast: boolean;
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  return style.getPropertyValue(name).trim() || fallback;
}

export function readPalette(): Palette {
  const s = getComputedStyle(document.documentElement);
  const b = getComputedStyle(document.body);
  const get = (name: string, fallback: string) => cssVar(b, name, cssVar(s, name, fallback));
  const foreground = get('--vscode-foreground', '#cccccc');
  const cls = document.body.classList;
  return {
    blue: get('--vscode-charts-blue', '#3794ff'),
    orange: get('--vscode-charts-orange', '#d18616'),
    green: get('--vscode-charts-green', '#89d185'),
    red: get('--vscode-charts-red', '#f14c4c'),
    yellow: get('--vscode-charts-yellow', '#cca700'),
    purple: get('--vscode-charts-purple', '#b180d7'),
    foreground,
    muted: get('--vscode-descriptionForeground', foreground),
    grid: get('--vscode-editorWidget-border', get('--vscode-panel-border', 'rgba(128,128,128,0.35)')),
    background: get('--vscode-editor-background', '#1e1e1e'),
    hoverBackground: get('--vscode-editorHoverWidget-background', get('--vscode-editorWidget-background', '#252526')),
    hoverBorder: get('--vscode-editorHoverWidget-border', get('--vscode-editorWidget-border', '#454545')),
    fontFamily: get('--vscode-font-family', 'sans-serif'),
    fontSize: parseFloat(get('--vscode-font-size', '13')) || 13,
    highContrast: cls.contains('vscode-high-contrast') || cls.contains('vscode-high-contrast-light'),
  };
}

let probe: CanvasRenderingContext2D | null = null;

/** Any CSS color (#rgb, #rrggbbaa, rgb(), named) with its alpha multiplied by `alpha`. */
export function withAlpha(color: string, alpha: number): string {
  probe ??= document.createElement('canvas').getContext('2d');
  if (!probe) return color;
  probe.fillStyle = '#000000';
  probe.fillStyle = color;
  const norm = String(probe.fillStyle);
  if (norm.startsWith('#')) {
    const n = parseInt(norm.slice(1, 7), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  const m = /rgba?\(([^)]+)\)/.exec(norm);
  if (!m) return color;
  const [r, g, b, a = '1'] = m[1].split(',').map((x) => x.trim());
  return `rgba(${r}, ${g}, ${b}, ${Number(a) * alpha})`;
}

/**
 * VS Code swaps the body class (vscode-light, vscode-dark, vscode-high-contrast,
 * vscode-high-contrast-light) and the --vscode-* variables on <html> when the theme changes;
 * both are watched and coalesced into one callback per frame.
 */
export function onThemeChange(cb: () => void): void {
  let scheduled = false;
  const fire = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      cb();
    });
  };
  let lastClass = document.body.className;
  const observer = new MutationObserver(() => {
    // The body class also carries our own flags; only theme classes and variables matter.
    const themeOf = (c: string) => c.split(/\s+/).filter((x) => x.startsWith('vscode-')).sort().join(' ');
    if (themeOf(lastClass) !== themeOf(document.body.className) || document.documentElement.getAttribute('style') !== lastStyle) {
      lastClass = document.body.className;
      lastStyle = document.documentElement.getAttribute('style');
      fire();
    }
  });
  let lastStyle = document.documentElement.getAttribute('style');
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
}
