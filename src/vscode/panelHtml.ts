// The results panel's page: a strict Content-Security-Policy (no inline script or style; the
// one script runs by a per-load nonce). Free of the vscode API so the panel benchmark serves the
// very same page.
import { randomBytes } from 'node:crypto';

export interface PanelPage {
  /** webview.cspSource: the origin the webview serves local resources from. */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  /** Defaults to 16 random bytes from the crypto module. */
  nonce?: string;
}

export function panelHtml({ cspSource, scriptUri, styleUri, nonce = randomBytes(16).toString('base64') }: PanelPage): string {
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${styleUri}">
<title>Self-Developing Results</title>
</head>
<body>
<main id="app" aria-live="polite"></main>
<script nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>`;
}
