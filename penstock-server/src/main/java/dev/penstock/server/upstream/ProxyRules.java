package dev.penstock.server.upstream;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Which upstreams go through which proxy: one for {@code https://} upstreams, one for {@code
 * http://} ones, and the hosts that bypass both ({@code NO_PROXY}: a comma list of host names or
 * suffixes, {@code .internal} and {@code internal} both matching {@code a.internal}; {@code *}
 * bypasses every host; a {@code :port} on an entry is ignored). IP ranges (CIDR) are not
 * understood: list the addresses. Rules taken from the environment also leave loopback upstreams
 * ({@code localhost}, 127.0.0.0/8, {@code ::1}) direct, as Go's {@code ProxyFromEnvironment} does:
 * a proxy exported for a whole host is not meant for a simulator or sidecar on it.
 */
public final class ProxyRules {
  /** Every upstream is reached directly. */
  public static final ProxyRules NONE = new ProxyRules(null, null, List.of(), false);

  private final @Nullable UpstreamProxy https;
  private final @Nullable UpstreamProxy http;
  private final List<String> noProxy;
  private final boolean bypassAll;
  private final boolean bypassLoopback;

  /** Proxies for every upstream but those of {@code noProxy}, loopback ones included. */
  public ProxyRules(
      @Nullable UpstreamProxy https, @Nullable UpstreamProxy http, List<String> noProxy) {
    this(https, http, noProxy, false);
  }

  private ProxyRules(
      @Nullable UpstreamProxy https,
      @Nullable UpstreamProxy http,
      List<String> noProxy,
      boolean bypassLoopback) {
    this.bypassLoopback = bypassLoopback;
    this.https = https;
    this.http = http;
    List<String> suffixes = new ArrayList<>();
    boolean all = false;
    for (String entry : noProxy) {
      String e = entry.trim().toLowerCase(Locale.ROOT);
      if (e.equals("*")) {
        all = true;
        continue;
      }
      if (e.startsWith("*.")) {
        e = e.substring(2);
      } else if (e.startsWith(".")) {
        e = e.substring(1);
      }
      if (e.startsWith("[")) { // [::1]:8080
        int end = e.indexOf(']');
        e = end < 0 ? e : e.substring(1, end);
      } else if (e.indexOf(':') == e.lastIndexOf(':') && e.indexOf(':') > 0) { // host:port
        e = e.substring(0, e.indexOf(':'));
      }
      if (!e.isEmpty()) {
        suffixes.add(e);
      }
    }
    this.noProxy = List.copyOf(suffixes);
    this.bypassAll = all;
  }

  /** Splits a {@code NO_PROXY} value: comma- (or space-) separated entries. */
  public static List<String> noProxyList(@Nullable String value) {
    List<String> entries = new ArrayList<>();
    if (value != null) {
      for (String part : java.util.regex.Pattern.compile("[,\\s]+").splitAsStream(value).toList()) {
        if (!part.isBlank()) {
          entries.add(part.trim());
        }
      }
    }
    return entries;
  }

  /**
   * The rules of the conventional environment: {@code HTTPS_PROXY} (or {@code https_proxy}) for
   * https upstreams, {@code HTTP_PROXY} (or {@code http_proxy}) for http ones, {@code NO_PROXY} (or
   * {@code no_proxy}) for the exceptions.
   *
   * @throws IllegalArgumentException when a variable holds no valid proxy URL; the message names
   *     the variable, never its value
   */
  public static ProxyRules fromEnvironment(
      Function<String, @Nullable String> env, @Nullable List<String> noProxyOverride) {
    UpstreamProxy https = fromVariable(env, "HTTPS_PROXY");
    UpstreamProxy http = fromVariable(env, "HTTP_PROXY");
    List<String> noProxy =
        noProxyOverride != null ? noProxyOverride : noProxyList(variable(env, "NO_PROXY"));
    return new ProxyRules(https, http, noProxy, true);
  }

  private static @Nullable UpstreamProxy fromVariable(
      Function<String, @Nullable String> env, String name) {
    String value = variable(env, name);
    if (value == null || value.isBlank()) {
      return null;
    }
    try {
      return UpstreamProxy.parse(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "the environment variable " + name + " (or its lower-case form) " + e.getMessage());
    }
  }

  private static @Nullable String variable(Function<String, @Nullable String> env, String name) {
    String upper = env.apply(name);
    return upper != null && !upper.isBlank() ? upper : env.apply(name.toLowerCase(Locale.ROOT));
  }

  /** The proxy for an upstream, or null to connect directly. Not on a request's path. */
  public @Nullable UpstreamProxy select(boolean tls, String host) {
    UpstreamProxy proxy = tls ? https : http;
    if (proxy == null || bypassAll) {
      return null;
    }
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (bypassLoopback && isLoopback(h)) {
      return null;
    }
    for (String suffix : noProxy) {
      if (h.equals(suffix)
          || (h.endsWith(suffix) && h.charAt(h.length() - suffix.length() - 1) == '.')) {
        return null;
      }
    }
    return proxy;
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost")
        || host.endsWith(".localhost")
        || host.equals("::1")
        || host.equals("0:0:0:0:0:0:0:1")
        || (host.startsWith("127.")
            && host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9')));
  }

  /** Whether a proxy has credentials to send. */
  public boolean hasCredentials() {
    return (https != null && https.authorization() != null)
        || (http != null && http.authorization() != null);
  }

  /** Whether any upstream may go through a proxy. */
  public boolean any() {
    return !bypassAll && (https != null || http != null);
  }

  /** The hosts that bypass the proxies, normalized ({@code *} when all do). */
  public List<String> noProxy() {
    return bypassAll ? List.of("*") : noProxy;
  }

  @Override
  public String toString() {
    return "ProxyRules[https=" + https + ", http=" + http + ", no_proxy=" + noProxy() + "]";
  }
}
