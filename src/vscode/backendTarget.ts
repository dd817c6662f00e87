// The backend the settings name, with the WebSocket token from secret storage (never settings).
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { BackendTarget } from '../app/backends';
import { checkDestination } from '../backend/links/sshLink';
import { settings } from './settings';

export const WEBSOCKET_TOKEN_SECRET = 'selfdev.backend.websocketToken';

export async function backendTarget(context: vscode.ExtensionContext): Promise<BackendTarget> {
  switch (settings.backendKind()) {
    case 'ssh': {
      const destination = settings.sshHost();
      if (!destination) throw new Error('the ssh backend has no host: run "Self-Developing: Select Backend…" or set selfdev.backend.sshHost');
      const config = settings.sshConfigFile();
      return {
        kind: 'ssh',
        host: { destination: checkDestination(destination), sshOptions: config ? ['-F', config] : [], node: settings.remoteNode(), python: settings.remotePython(), dir: settings.remoteDir() || undefined },
      };
    }
    case 'websocket': {
      const url = settings.websocketUrl();
      if (!url) throw new Error('the WebSocket backend has no address: run "Self-Developing: Select Backend…" or set selfdev.backend.websocketUrl');
      const token = await context.secrets.get(WEBSOCKET_TOKEN_SECRET);
      if (!token) throw new Error('the WebSocket backend has no token: run "Self-Developing: Select Backend…" to store it');
      const pinned = settings.pinnedCertificate();
      let pinnedCertificate: string | undefined;
      try {
        pinnedCertificate = pinned ? readFileSync(pinned, 'utf8') : undefined;
      } catch (err) {
        throw new Error(`the pinned certificate ${pinned} cannot be read: ${(err as Error).message}`);
      }
      return { kind: 'websocket', url, token, pinnedCertificate };
    }
    default:
      return { kind: 'local' };
  }
}
