package io.distributedsqlite.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * TLS from PEM files, off by default. With it on, the node serves HTTPS (client and internal
 * traffic on the same port) and talks HTTPS to its peers, trusting {@code caFile} (the CA that
 * signed every node's certificate) and checking the peer's host name against the certificate.
 * With {@code peerMtls} (PEER_MTLS=true) peer traffic is mutual TLS: every node presents its own
 * certificate to the peers it calls, and {@code /internal/*} serves only connections whose client
 * certificate the CA signed; clients of the public API still need none.
 */
public record Tls(Path certFile, Path keyFile, Path caFile, boolean peerMtls) {

  static Optional<Tls> fromEnvironment(Optional<String> cert, Optional<String> key, Optional<String> ca, boolean peerMtls) {
    if (cert.isEmpty() && key.isEmpty() && ca.isEmpty()) {
      if (peerMtls) {
        throw new ConfigException("PEER_MTLS=true needs TLS: set TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE");
      }
      return Optional.empty();
    }
    if (cert.isEmpty() || key.isEmpty() || ca.isEmpty()) {
      throw new ConfigException("TLS needs all of TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE");
    }
    Tls tls = new Tls(Path.of(cert.get()), Path.of(key.get()), Path.of(ca.get()), peerMtls);
    for (Path p : new Path[] {tls.certFile, tls.keyFile, tls.caFile}) {
      if (!Files.isReadable(p)) {
        throw new ConfigException("TLS file " + p + " is not readable");
      }
    }
    return Optional.of(tls);
  }
}
