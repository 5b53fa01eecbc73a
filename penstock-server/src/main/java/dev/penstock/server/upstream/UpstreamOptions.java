package dev.penstock.server.upstream;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.jspecify.annotations.Nullable;

/**
 * How an upstream client reaches its upstreams: whom TLS trusts, which proxy tunnels where, whether
 * HTTP/2 is used where TLS offers it, and how host names resolve. Immutable; shared by every
 * connection of a client.
 *
 * @param sslContext TLS of every https upstream: the JDK's default trust, plus the CAs of {@code
 *     upstream.ca_file} when set
 * @param proxies the proxies and the hosts that bypass them
 * @param http2 whether a TLS upstream that selects {@code h2} by ALPN is spoken to over HTTP/2
 * @param resolver every address of a host; tests inject their own
 */
public record UpstreamOptions(
    SSLContext sslContext, ProxyRules proxies, boolean http2, Resolver resolver) {

  /** The JDK's trust, no proxy, HTTP/1.1 (decision 0003), the system's resolver. */
  public static UpstreamOptions defaults() {
    return new UpstreamOptions(defaultContext(), ProxyRules.NONE, false, Resolver.SYSTEM);
  }

  /**
   * The options of {@code upstream:}.
   *
   * @param caFile extra trusted CAs (PEM), added to the JDK's; null for the JDK's alone
   * @param proxy the proxy URL for every upstream; {@code "none"} for none; null to read {@code
   *     HTTPS_PROXY}/{@code HTTP_PROXY} from {@code env}
   * @param noProxy the hosts that bypass the proxy (comma list); null to read {@code NO_PROXY}
   * @throws IOException when the CA file cannot be read or holds no certificate
   * @throws IllegalArgumentException when a proxy URL (the configured one or an environment
   *     variable's) is not valid; the message never holds the URL
   */
  public static UpstreamOptions of(
      @Nullable Path caFile,
      @Nullable String proxy,
      @Nullable String noProxy,
      boolean http2,
      Function<String, @Nullable String> env)
      throws IOException {
    SSLContext context = caFile == null ? defaultContext() : contextTrusting(caFile);
    List<String> exceptions = noProxy == null ? null : ProxyRules.noProxyList(noProxy);
    ProxyRules rules;
    if (proxy == null) {
      rules = ProxyRules.fromEnvironment(env, exceptions);
    } else if (proxy.isBlank() || proxy.trim().toLowerCase(Locale.ROOT).equals("none")) {
      rules = ProxyRules.NONE;
    } else {
      UpstreamProxy p = UpstreamProxy.parse(proxy);
      rules =
          new ProxyRules(
              p, p, exceptions != null ? exceptions : ProxyRules.noProxyList(noProxyOf(env)));
    }
    return new UpstreamOptions(context, rules, http2, Resolver.SYSTEM);
  }

  private static @Nullable String noProxyOf(Function<String, @Nullable String> env) {
    String upper = env.apply("NO_PROXY");
    return upper != null ? upper : env.apply("no_proxy");
  }

  public UpstreamOptions withResolver(Resolver value) {
    return new UpstreamOptions(sslContext, proxies, http2, value);
  }

  public UpstreamOptions withProxies(ProxyRules value) {
    return new UpstreamOptions(sslContext, value, http2, resolver);
  }

  public UpstreamOptions withHttp2(boolean value) {
    return new UpstreamOptions(sslContext, proxies, value, resolver);
  }

  public UpstreamOptions withSslContext(SSLContext value) {
    return new UpstreamOptions(value, proxies, http2, resolver);
  }

  private static SSLContext defaultContext() {
    try {
      return SSLContext.getDefault();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JDK has no default TLS context", e);
    }
  }

  /**
   * The certificates of a PEM file (one or more {@code BEGIN CERTIFICATE} blocks).
   *
   * @throws IOException when it cannot be read, or holds no certificate; the message says which
   */
  public static List<X509Certificate> certificates(Path pem) throws IOException {
    Collection<? extends Certificate> read;
    try (InputStream in = Files.newInputStream(pem)) {
      read = CertificateFactory.getInstance("X.509").generateCertificates(in);
    } catch (CertificateException e) {
      throw new IOException("is not a PEM file of certificates: " + e.getMessage(), e);
    }
    List<X509Certificate> certificates = new ArrayList<>();
    for (Certificate c : read) {
      if (c instanceof X509Certificate x) {
        certificates.add(x);
      }
    }
    if (certificates.isEmpty()) {
      throw new IOException("holds no certificate (-----BEGIN CERTIFICATE----- blocks)");
    }
    return certificates;
  }

  /** A TLS context trusting the JDK's default CAs and those of {@code caFile}. */
  public static SSLContext contextTrusting(Path caFile) throws IOException {
    List<X509Certificate> extra = certificates(caFile);
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (X509Certificate ca : defaultTrust().getAcceptedIssuers()) {
        store.setCertificateEntry("default-" + i++, ca);
      }
      i = 0;
      for (X509Certificate ca : extra) {
        store.setCertificateEntry("ca-file-" + i++, ca);
      }
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, factory.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot build a TLS context from it: " + e.getMessage(), e);
    }
  }

  private static X509TrustManager defaultTrust() throws GeneralSecurityException {
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init((KeyStore) null);
    for (TrustManager manager : factory.getTrustManagers()) {
      if (manager instanceof X509TrustManager x509) {
        return x509;
      }
    }
    throw new GeneralSecurityException("the JDK has no default X.509 trust manager");
  }

  @Override
  public String toString() {
    return "UpstreamOptions[" + proxies + ", http2=" + http2 + "]";
  }
}
