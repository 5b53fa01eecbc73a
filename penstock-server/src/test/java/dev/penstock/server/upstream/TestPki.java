package dev.penstock.server.upstream;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A throw-away CA and a server certificate it signed, made with the JDK's {@code keytool} once per
 * test JVM into a temporary directory (deleted on exit; no key is ever committed). The server's
 * certificate names {@code localhost}, {@code upstream.test}, 127.0.0.1 and 127.0.0.2.
 */
final class TestPki {
  private static final String PASSWORD = "test-only-store-password";
  private static final String SAN = "san=dns:localhost,dns:upstream.test,ip:127.0.0.1,ip:127.0.0.2";
  private static volatile TestPki instance;

  private final Path dir;
  private final Path caPem;
  private final SSLContext serverContext;

  private TestPki(Path dir) throws IOException, InterruptedException, GeneralSecurityException {
    this.dir = dir;
    Path ca = dir.resolve("ca.p12");
    Path server = dir.resolve("server.p12");
    keytool(
        "-genkeypair",
        "-alias",
        "ca",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=Penstock Test CA",
        "-ext",
        "bc:c",
        "-validity",
        "2",
        "-keystore",
        ca.toString());
    keytool(
        "-genkeypair",
        "-alias",
        "server",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=localhost",
        "-validity",
        "2",
        "-keystore",
        server.toString());
    Path csr = dir.resolve("server.csr");
    keytool(
        "-certreq", "-alias", "server", "-keystore", server.toString(), "-file", csr.toString());
    Path signed = dir.resolve("server.pem");
    keytool(
        "-gencert",
        "-alias",
        "ca",
        "-keystore",
        ca.toString(),
        "-infile",
        csr.toString(),
        "-outfile",
        signed.toString(),
        "-ext",
        SAN,
        "-ext",
        "eku=serverAuth",
        "-validity",
        "2",
        "-rfc");
    caPem = dir.resolve("ca.pem");
    keytool(
        "-exportcert",
        "-alias",
        "ca",
        "-keystore",
        ca.toString(),
        "-rfc",
        "-file",
        caPem.toString());
    keytool(
        "-importcert",
        "-alias",
        "ca",
        "-file",
        caPem.toString(),
        "-keystore",
        server.toString(),
        "-noprompt");
    keytool(
        "-importcert",
        "-alias",
        "server",
        "-file",
        signed.toString(),
        "-keystore",
        server.toString(),
        "-noprompt");
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(server)) {
      store.load(in, PASSWORD.toCharArray());
    }
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(store, PASSWORD.toCharArray());
    serverContext = SSLContext.getInstance("TLS");
    serverContext.init(keys.getKeyManagers(), null, null);
  }

  static TestPki get() {
    TestPki pki = instance;
    if (pki == null) {
      synchronized (TestPki.class) {
        pki = instance;
        if (pki == null) {
          try {
            Path dir = Files.createTempDirectory("penstock-pki");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir)));
            pki = new TestPki(dir);
          } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("could not make the test certificates", e);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
          }
          instance = pki;
        }
      }
    }
    return pki;
  }

  /** The CA's certificate, PEM: what {@code upstream.ca_file} names. */
  Path caPem() {
    return caPem;
  }

  /** The server's key and certificate chain. */
  SSLContext serverContext() {
    return serverContext;
  }

  private void keytool(String... args) throws IOException, InterruptedException {
    String javaHome = System.getProperty("java.home");
    List<String> command = new ArrayList<>();
    command.add(Path.of(javaHome, "bin", "keytool").toString());
    command.addAll(List.of(args));
    command.addAll(List.of("-storetype", "PKCS12", "-storepass", PASSWORD));
    Process process =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    process.getOutputStream().close();
    String output;
    try (InputStream in = process.getInputStream()) {
      output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IOException("keytool timed out");
    }
    if (process.exitValue() != 0) {
      throw new IOException("keytool " + args[0] + " failed: " + output);
    }
  }

  private static void delete(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a temporary directory left behind
    }
  }
}
