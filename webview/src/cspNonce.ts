// Imported first by main.ts, before the UI toolkit: FAST (under the toolkit) probes
// :focus-visible support with a <style> element at import time, giving it the nonce of
// <meta property="csp-nonce">, which the page's style-src allows. The host's page does not
// carry that meta, so it is added here from this script's own nonce.
const script = (document.currentScript as HTMLScriptElement | null) ?? document.querySelector<HTMLScriptElement>('script[nonce]');
const nonce = script?.nonce;
if (nonce && !document.querySelector('meta[property="csp-nonce"]')) {
  const meta = document.createElement('meta');
  meta.setAttribute('property', 'csp-nonce');
  meta.setAttribute('content', nonce);
  document.head.append(meta);
}

export {};
