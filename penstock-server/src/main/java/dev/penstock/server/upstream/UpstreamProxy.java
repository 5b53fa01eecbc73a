package dev.penstock.server.upstream;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * An HTTP proxy that upstream connections tunnel through ({@code CONNECT host:port}). Its
 * credentials, from the URL's userinfo, are sent as {@code Proxy-Authorization: Basic}; they never
 * appear in {@link #toString()} nor in any message this class makes.
 */
public final class UpstreamProxy {
  private final String host;
  private final int port;
  private final @Nullable String username;
  private final @Nullable String password;
  private final @Nullable String authorization;

  private UpstreamProxy(
      String host, int port, @Nullable String username, @Nullable String password) {
    this.host = host;
    this.port = port;
    this.username = username;
    this.password = password;
    this.authorization =
        username == null
            ? null
            : "Basic "
                + Base64.getEncoder()
                    .encodeToString(
                        (username + ":" + (password == null ? "" : password))
                            .getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Parses {@code http://[user[:password]@]host[:port][/]}, or {@code host:port} as the proxy
   * environment variables often hold it. The port defaults to 80.
   *
   * @throws IllegalArgumentException with a message that never repeats the URL (it may hold a
   *     password)
   */
  public static UpstreamProxy parse(String url) {
    String text = url.trim();
    if (!text.contains("://")) {
      text = "http://" + text;
    }
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "must be a URL like http://user:password@proxy.example:3128");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (scheme.equals("https")) {
      throw new IllegalArgumentException(
          "an https:// proxy (TLS to the proxy itself) is not supported; use http://");
    }
    if (!scheme.equals("http")) {
      throw new IllegalArgumentException(
          "must be an http:// URL like http://user:password@proxy.example:3128");
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("has no host (http://proxy.example:3128)");
    }
    String path = uri.getRawPath();
    if ((path != null && !path.isEmpty() && !path.equals("/"))
        || uri.getRawQuery() != null
        || uri.getRawFragment() != null) {
      throw new IllegalArgumentException("must be http://[user:password@]host:port, no path");
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = uri.getPort() < 0 ? 80 : uri.getPort();
    String userInfo = uri.getRawUserInfo();
    String username = null;
    String password = null;
    if (userInfo != null) {
      int colon = userInfo.indexOf(':');
      username = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
      password = colon < 0 ? null : decode(userInfo.substring(colon + 1));
    }
    return new UpstreamProxy(host, port, username, password);
  }

  private static String decode(String part) {
    try {
      return URLDecoder.decode(part.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("has a badly %-encoded user name or password");
    }
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  /** The user name of the proxy's credentials, if it has any. */
  public @Nullable String username() {
    return username;
  }

  /** The password of the proxy's credentials: a secret, only for the client that sends it. */
  @Nullable String password() {
    return password;
  }

  /**
   * The {@code Proxy-Authorization} header's value, or null when the proxy takes no credentials.
   */
  @Nullable String authorization() {
    return authorization;
  }

  /** {@code proxy host:port}, never the credentials. */
  @Override
  public String toString() {
    return "proxy " + host + ":" + port + (username == null ? "" : " (with credentials)");
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof UpstreamProxy p
        && p.host.equals(host)
        && p.port == port
        && java.util.Objects.equals(p.username, username)
        && java.util.Objects.equals(p.password, password);
  }

  @Override
  public int hashCode() {
    return host.hashCode() * 31 + port;
  }
}
