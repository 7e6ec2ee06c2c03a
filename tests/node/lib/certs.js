// A throwaway certificate authority and a certificate it signs for 127.0.0.1, made
// with the openssl command (scripts/test.sh installs it when missing).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * { dir, caFile, key, cert, issue(), remove() }: the CA's PEM file, the server's key
 * and certificate, and `issue(name)` for another { key, cert } the same CA signs (a
 * renewal).
 */
export function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'pushbus-certs-'));
  const f = (name) => join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=pushbus test CA');
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  const issue = (name) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', '/CN=127.0.0.1');
    openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f('ext.cnf'));
    return { key: readFileSync(f(`${name}.key`)), cert: readFileSync(f(`${name}.pem`)) };
  };
  const { key, cert } = issue('server');
  return {
    dir,
    caFile: f('ca.pem'),
    key,
    cert,
    issue,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
