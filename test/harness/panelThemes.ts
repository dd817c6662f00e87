// VS Code's theme as a webview sees it, for the results panel's stand-in page
// (test/harness/panelPage.ts): the --vscode-* variables it sets on <html>, the body class, and
// its default webview styles. A representative subset of Light Modern, Dark Modern and Dark High
// Contrast, taken from VS Code.

export interface Theme {
  /** The body class VS Code sets (vscode-light, vscode-dark, vscode-high-contrast). */
  cls: string;
  /** --vscode-* variables, without the prefix. */
  vars: Record<string, string>;
}

const COMMON: Record<string, string> = {
  'font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif',
  'font-size': '13px',
  'font-weight': 'normal',
  'editor-font-family': '"Droid Sans Mono", "DejaVu Sans Mono", monospace',
  'editor-font-size': '13px',
  'editor-font-weight': 'normal',
};

/** The chart colors Dark Modern and Dark High Contrast share. */
const DARK_CHARTS: Record<string, string> = {
  'charts-red': '#f14c4c',
  'charts-blue': '#3794ff',
  'charts-yellow': '#cca700',
  'charts-orange': '#d18616',
  'charts-green': '#89d185',
  'charts-purple': '#b180d7',
};

const THEME_COLORS: Record<string, Theme> = {
  light: {
    cls: 'vscode-light',
    vars: {
      foreground: '#3b3b3b',
      'editor-foreground': '#3b3b3b',
      'editor-background': '#ffffff',
      descriptionForeground: '#717171',
      disabledForeground: 'rgba(97, 97, 97, 0.5)',
      errorForeground: '#f85149',
      focusBorder: '#005fb8',
      'widget-border': '#e5e5e5',
      'editorWidget-background': '#f8f8f8',
      'editorWidget-border': '#c8c8c8',
      'editorHoverWidget-background': '#f8f8f8',
      'editorHoverWidget-border': '#c8c8c8',
      'panel-border': '#e5e5e5',
      'panelTitle-activeForeground': '#3b3b3b',
      'panelTitle-activeBorder': '#005fb8',
      'panelTitle-inactiveForeground': '#3b3b3b',
      'charts-foreground': '#616161',
      'charts-lines': 'rgba(97, 97, 97, 0.5)',
      'charts-red': '#e51400',
      'charts-blue': '#1a85ff',
      'charts-yellow': '#bf8803',
      'charts-orange': '#d18616',
      'charts-green': '#388a34',
      'charts-purple': '#652d90',
      'button-background': '#005fb8',
      'button-foreground': '#ffffff',
      'button-hoverBackground': '#0258a8',
      'button-border': 'rgba(0, 0, 0, 0.1)',
      'button-secondaryBackground': '#e5e5e5',
      'button-secondaryForeground': '#3b3b3b',
      'button-secondaryHoverBackground': '#cccccc',
      'input-background': '#ffffff',
      'input-foreground': '#3b3b3b',
      'input-border': '#cecece',
      'input-placeholderForeground': '#767676',
      'dropdown-background': '#ffffff',
      'dropdown-foreground': '#3b3b3b',
      'dropdown-border': '#cecece',
      'dropdown-listBackground': '#ffffff',
      'list-hoverBackground': '#f2f2f2',
      'list-activeSelectionBackground': '#e8e8e8',
      'list-activeSelectionForeground': '#000000',
      'list-inactiveSelectionBackground': '#e4e6f1',
      'list-focusOutline': '#005fb8',
      'badge-background': '#cccccc',
      'badge-foreground': '#3b3b3b',
      'textLink-foreground': '#005fb8',
      'textLink-activeForeground': '#005fb8',
      'textCodeBlock-background': '#f2f2f2',
      'textPreformat-foreground': '#3b3b3b',
      'textPreformat-background': 'rgba(0, 0, 0, 0.12)',
      'diffEditor-insertedTextBackground': 'rgba(156, 204, 44, 0.25)',
      'diffEditor-removedTextBackground': 'rgba(255, 0, 0, 0.2)',
      'inputValidation-errorBackground': '#f2dede',
      'inputValidation-errorBorder': '#be1100',
      'progressBar-background': '#005fb8',
      'scrollbarSlider-background': 'rgba(100, 100, 100, 0.4)',
      'scrollbarSlider-hoverBackground': 'rgba(100, 100, 100, 0.7)',
      'scrollbarSlider-activeBackground': 'rgba(0, 0, 0, 0.6)',
    },
  },
  dark: {
    cls: 'vscode-dark',
    vars: {
      foreground: '#cccccc',
      'editor-foreground': '#cccccc',
      'editor-background': '#1f1f1f',
      descriptionForeground: '#9d9d9d',
      disabledForeground: 'rgba(204, 204, 204, 0.5)',
      errorForeground: '#f85149',
      focusBorder: '#0078d4',
      'widget-border': '#313131',
      'editorWidget-background': '#202020',
      'editorWidget-border': '#454545',
      'editorHoverWidget-background': '#202020',
      'editorHoverWidget-border': '#454545',
      'panel-border': '#2b2b2b',
      'panelTitle-activeForeground': '#cccccc',
      'panelTitle-activeBorder': '#0078d4',
      'panelTitle-inactiveForeground': '#9d9d9d',
      'charts-foreground': '#cccccc',
      'charts-lines': 'rgba(204, 204, 204, 0.5)',
      ...DARK_CHARTS,
      'button-background': '#0078d4',
      'button-foreground': '#ffffff',
      'button-hoverBackground': '#026ec1',
      'button-border': 'rgba(255, 255, 255, 0.07)',
      'button-secondaryBackground': '#313131',
      'button-secondaryForeground': '#cccccc',
      'button-secondaryHoverBackground': '#3c3c3c',
      'input-background': '#313131',
      'input-foreground': '#cccccc',
      'input-border': '#3c3c3c',
      'input-placeholderForeground': '#989898',
      'dropdown-background': '#313131',
      'dropdown-foreground': '#cccccc',
      'dropdown-border': '#3c3c3c',
      'dropdown-listBackground': '#1f1f1f',
      'list-hoverBackground': '#2a2d2e',
      'list-activeSelectionBackground': '#04395e',
      'list-activeSelectionForeground': '#ffffff',
      'list-inactiveSelectionBackground': '#37373d',
      'list-focusOutline': '#0078d4',
      'badge-background': '#616161',
      'badge-foreground': '#f8f8f8',
      'textLink-foreground': '#4daafc',
      'textLink-activeForeground': '#4daafc',
      'textCodeBlock-background': '#2b2b2b',
      'textPreformat-foreground': '#d0d0d0',
      'textPreformat-background': '#3c3c3c',
      'diffEditor-insertedTextBackground': 'rgba(156, 204, 44, 0.2)',
      'diffEditor-removedTextBackground': 'rgba(255, 0, 0, 0.2)',
      'inputValidation-errorBackground': '#5a1d1d',
      'inputValidation-errorBorder': '#be1100',
      'progressBar-background': '#0078d4',
      'scrollbarSlider-background': 'rgba(121, 121, 121, 0.4)',
      'scrollbarSlider-hoverBackground': 'rgba(100, 100, 100, 0.7)',
      'scrollbarSlider-activeBackground': 'rgba(191, 191, 191, 0.4)',
    },
  },
  hc: {
    cls: 'vscode-high-contrast',
    vars: {
      foreground: '#ffffff',
      'editor-foreground': '#ffffff',
      'editor-background': '#000000',
      descriptionForeground: 'rgba(255, 255, 255, 0.7)',
      disabledForeground: '#a5a5a5',
      errorForeground: '#f48771',
      focusBorder: '#f38518',
      contrastBorder: '#6fc3df',
      contrastActiveBorder: '#f38518',
      'widget-border': '#6fc3df',
      'editorWidget-background': '#0c141f',
      'editorWidget-border': '#6fc3df',
      'editorHoverWidget-background': '#0c141f',
      'editorHoverWidget-border': '#6fc3df',
      'panel-border': '#6fc3df',
      'panelTitle-activeForeground': '#ffffff',
      'panelTitle-activeBorder': '#6fc3df',
      'panelTitle-inactiveForeground': '#ffffff',
      'charts-foreground': '#ffffff',
      'charts-lines': 'rgba(255, 255, 255, 0.5)',
      ...DARK_CHARTS,
      'button-background': '#000000',
      'button-foreground': '#ffffff',
      'button-border': '#6fc3df',
      'button-secondaryBackground': '#000000',
      'button-secondaryForeground': '#ffffff',
      'input-background': '#000000',
      'input-foreground': '#ffffff',
      'input-border': '#6fc3df',
      'input-placeholderForeground': 'rgba(255, 255, 255, 0.7)',
      'dropdown-background': '#000000',
      'dropdown-foreground': '#ffffff',
      'dropdown-border': '#6fc3df',
      'dropdown-listBackground': '#000000',
      'list-activeSelectionForeground': '#ffffff',
      'list-focusOutline': '#f38518',
      'list-highlightForeground': '#f38518',
      'badge-background': '#000000',
      'badge-foreground': '#ffffff',
      'textLink-foreground': '#21a6ff',
      'textLink-activeForeground': '#21a6ff',
      'textCodeBlock-background': '#000000',
      'textPreformat-foreground': '#ffffff',
      'textPreformat-background': '#000000',
      'diffEditor-insertedTextBorder': '#33ff2e',
      'diffEditor-removedTextBorder': '#ff008f',
      'inputValidation-errorBackground': '#000000',
      'inputValidation-errorBorder': '#f48771',
      'progressBar-background': '#6fc3df',
      'scrollbarSlider-background': 'rgba(111, 195, 223, 0.6)',
      'scrollbarSlider-hoverBackground': 'rgba(111, 195, 223, 0.8)',
      'scrollbarSlider-activeBackground': '#6fc3df',
    },
  },
};

/** The three themes, by the name the stand-in page takes (?theme=light|dark|hc). */
export const THEMES: Record<string, Theme> = Object.fromEntries(Object.entries(THEME_COLORS).map(([name, t]) => [name, { cls: t.cls, vars: { ...COMMON, ...t.vars } }]));

// VS Code's own default styles for webviews (a subset), which the panel's CSS builds on. VS Code
// puts them in the webview's document itself; the stand-in page serves them as a stylesheet.
export const VSCODE_DEFAULT_CSS = `
html { background: var(--vscode-editor-background); scrollbar-color: var(--vscode-scrollbarSlider-background) var(--vscode-editor-background); }
body { background-color: transparent; color: var(--vscode-editor-foreground); font-family: var(--vscode-font-family);
  font-weight: var(--vscode-font-weight); font-size: var(--vscode-font-size); margin: 0; padding: 0 20px; }
a, a code { color: var(--vscode-textLink-foreground); }
a:hover { color: var(--vscode-textLink-activeForeground); }
a:focus, input:focus, select:focus, textarea:focus { outline: 1px solid -webkit-focus-ring-color; outline-offset: -1px; }
code { font-family: var(--monaco-monospace-font); color: var(--vscode-textPreformat-foreground); background-color: var(--vscode-textPreformat-background); padding: 1px 3px; border-radius: 4px; }
pre code { padding: 0; }
::-webkit-scrollbar { width: 10px; height: 10px; }
::-webkit-scrollbar-corner { background-color: var(--vscode-editor-background); }
::-webkit-scrollbar-thumb { background-color: var(--vscode-scrollbarSlider-background); }
::-webkit-scrollbar-thumb:hover { background-color: var(--vscode-scrollbarSlider-hoverBackground); }
::-webkit-scrollbar-thumb:active { background-color: var(--vscode-scrollbarSlider-activeBackground); }
`;
