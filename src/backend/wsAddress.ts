// WebSocket addresses, read the same way by the daemon's listener and the client's link.

/** ws:// or wss:// parsed, or a clear error. */
export function parseWebSocketUrl(text: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    /* said below */
  }
  if (!url || (url.protocol !== 'ws:' && url.protocol !== 'wss:')) throw new Error(`"${text}" is not a WebSocket address (ws://host:port or wss://host:port)`);
  return url;
}

/** Whether a URL's hostname is this machine's loopback (where clear text never leaves it). */
export const isLoopbackHost = (hostname: string): boolean => /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/.test(hostname);
