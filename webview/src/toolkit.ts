// The one place that knows the UI library: the rest of the webview uses the toolkit only as
// plain custom elements (vscode-button, vscode-dropdown, ...), so switching library stays small.
// Badge and progress ring are the panel's own (dom.ts): the toolkit's templates carry inline
// style attributes, which the CSP refuses.
import './cspNonce';
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeDropdown, vsCodeOption, vsCodeTextField } from '@vscode/webview-ui-toolkit';

export function registerToolkit(): void {
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeTextField());
}
