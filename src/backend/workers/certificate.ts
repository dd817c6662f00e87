// The self-signed certificate of the worker listener: made once per state folder with the
// system's openssl (Node can read certificates but not make them), kept readable by this user
// only. Workers pin it by its exact fingerprint (they get the PEM in their environment), so its
// names need not match the address they dial.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface CertificateFiles {
  cert: string;
  key: string;
  pem: string;
}

export async function workerCertificate(dir: string): Promise<CertificateFiles> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const cert = path.join(dir, 'worker-cert.pem');
  const key = path.join(dir, 'worker-key.pem');
  const existing = await fs.readFile(cert, 'utf8').catch(() => undefined);
  if (existing && (await fs.stat(key).catch(() => undefined))) return { cert, key, pem: existing };
  const tmpKey = `${key}.${process.pid}.tmp`;
  const tmpCert = `${cert}.${process.pid}.tmp`;
  await new Promise<void>((resolve, reject) => {
    execFile(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', tmpKey, '-out', tmpCert, '-days', '3650', '-subj', `/CN=selfdev-workers-${os.hostname()}`],
      { timeout: 30_000 },
      (err, _out, stderr) => {
        if (!err) return resolve();
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'openssl is not installed on the backend machine (install it: the workers connect over TLS)' : stderr.trim() || err.message;
        reject(new Error(`could not make the workers' TLS certificate: ${why}`));
      },
    );
  });
  await fs.chmod(tmpKey, 0o600);
  await fs.rename(tmpKey, key);
  await fs.rename(tmpCert, cert);
  return { cert, key, pem: await fs.readFile(cert, 'utf8') };
}
