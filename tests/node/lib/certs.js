// A throwaway certificate authority and a certificate it signs for 127.0.0.1, made
// with the openssl command (scripts/test.sh installs it when missing).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** { dir, caFile, key, cert, remove() }: the CA's PEM file, and the server's key and certificate. */
export function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'pushbus-certs-'));
  const f = (name) => join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=pushbus test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf'));
  return {
    dir,
    caFile: f('ca.pem'),
    key: readFileSync(f('server.key')),
    cert: readFileSync(f('server.pem')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
