import { renameSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';

/** replaceAtomically writes `content` to `path` as an operator should: a temporary file, then rename. */
export function replaceAtomically(path: string, content: string | Buffer, mode = 0o644): void {
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, content, { mode });
  renameSync(temp, path);
}

/** Handshake is what a raw TLS client saw on a port: the server certificate's serial and the outcome. */
export interface Handshake {
  /** serial is the server certificate's serial number in lowercase hex, or '' when none was seen. */
  readonly serial: string;
  /** outcome is 'accepted' (the node spoke HTTP/2 after the handshake) or 'refused' (it hung up). */
  readonly outcome: 'accepted' | 'refused';
}

/**
 * handshake dials a TLS port (peer or client) with Node's TLS client, presenting `cert` and
 * `key`, trusting `ca`, and offering h2 as grpc-js does. The node accepted the client certificate
 * when it sends its HTTP/2 SETTINGS. It refused it when it hangs up instead: with TLS 1.3 the
 * client's side of the handshake completes before the server has checked the client certificate,
 * and Node's server closes the connection without an alert, so a refusal carries no reason on
 * the wire.
 */
export function handshake(address: string, ca: Buffer, cert: Buffer, key: Buffer): Promise<Handshake> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    let serial = '';
    let settled = false;
    const socket = connect({
      host,
      port: Number(port),
      ca,
      cert,
      key,
      ALPNProtocols: ['h2'],
      checkServerIdentity: () => undefined,
    });
    const finish = (outcome: Handshake['outcome']): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ serial, outcome });
    };
    const timer = setTimeout(() => finish('refused'), 5000);
    socket.once('secureConnect', () => {
      serial = socket.getPeerCertificate().serialNumber.toLowerCase();
    });
    socket.once('data', () => finish('accepted'));
    socket.once('error', () => finish('refused'));
    socket.once('close', () => finish('refused'));
  });
}
