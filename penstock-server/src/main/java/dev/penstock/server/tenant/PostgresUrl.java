package dev.penstock.server.tenant;

import dev.penstock.server.config.Secret;
import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.jspecify.annotations.Nullable;

/**
 * {@code storage.postgres_url}, a libpq connection URI ({@code
 * postgresql://user:pass@host:port/db?sslmode=require}), taken apart for pgjdbc: a JDBC URL without
 * credentials, and the user, password and parameters as connection properties.
 *
 * <p>User, password and database are percent-decoded (a password may hold {@code @} or {@code /} as
 * {@code %40}, {@code %2F}); the port defaults to 5432, the database to the user's name (as
 * libpq's), the host to {@code localhost}. Query parameters are passed on (pgjdbc knows {@code
 * sslmode}, {@code sslrootcert} and the others by the same names); libpq's {@code connect_timeout}
 * and {@code application_name} are renamed to pgjdbc's. A {@code user} or {@code password}
 * parameter counts as the URL's own.
 *
 * <p>{@link #toString()} and {@link #describe()} never show the password, and no parse error quotes
 * the URL.
 */
public record PostgresUrl(
    String host,
    int port,
    String database,
    @Nullable String user,
    @Nullable Secret password,
    Map<String, String> parameters) {
  /** PostgreSQL's port when the URL names none. */
  public static final int DEFAULT_PORT = 5432;

  /**
   * Takes {@code url} apart.
   *
   * @throws StorageException when it is not a PostgreSQL URL; the message does not quote it (it may
   *     hold a password)
   */
  public static PostgresUrl parse(String url) {
    String rest;
    if (url.startsWith("postgresql://")) {
      rest = url.substring("postgresql://".length());
    } else if (url.startsWith("postgres://")) {
      rest = url.substring("postgres://".length());
    } else {
      throw invalid("it must start with postgresql://");
    }
    String query = "";
    int q = rest.indexOf('?');
    if (q >= 0) {
      query = rest.substring(q + 1);
      rest = rest.substring(0, q);
    }
    int slash = rest.indexOf('/');
    String authority = slash < 0 ? rest : rest.substring(0, slash);
    String path = slash < 0 ? "" : rest.substring(slash + 1);
    int at = authority.lastIndexOf('@');
    String user = null;
    Secret password = null;
    if (at >= 0) {
      String userInfo = authority.substring(0, at);
      int colon = userInfo.indexOf(':');
      user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon), "user");
      if (colon >= 0) {
        password = new Secret(decode(userInfo.substring(colon + 1), "password"));
      }
    }
    String hostPort = authority.substring(at + 1);
    String host;
    String portText = "";
    if (hostPort.startsWith("[")) {
      int close = hostPort.indexOf(']');
      if (close < 0) {
        throw invalid("its IPv6 host has no closing ]");
      }
      host = hostPort.substring(0, close + 1);
      String after = hostPort.substring(close + 1);
      if (after.startsWith(":")) {
        portText = after.substring(1);
      } else if (!after.isEmpty()) {
        throw invalid("something follows its IPv6 host that is not :port");
      }
    } else {
      int colon = hostPort.lastIndexOf(':');
      host = colon < 0 ? hostPort : hostPort.substring(0, colon);
      portText = colon < 0 ? "" : hostPort.substring(colon + 1);
    }
    if (host.isEmpty()) {
      host = "localhost";
    }
    if (host.contains(",")) {
      throw invalid("it names several hosts; give one (a load balancer or a primary's address)");
    }
    int port = DEFAULT_PORT;
    if (!portText.isEmpty()) {
      try {
        port = Integer.parseInt(portText);
      } catch (NumberFormatException e) {
        throw invalid("its port is not a number");
      }
      if (port < 1 || port > 65_535) {
        throw invalid("its port is not between 1 and 65535");
      }
    }
    Map<String, String> parameters = new LinkedHashMap<>();
    if (!query.isEmpty()) {
      for (String pair : query.split("&", -1)) {
        if (pair.isEmpty()) {
          continue;
        }
        int eq = pair.indexOf('=');
        String name = decode(eq < 0 ? pair : pair.substring(0, eq), "a parameter's name");
        String value = eq < 0 ? "" : decode(pair.substring(eq + 1), "a parameter's value");
        switch (name) {
          case "password" -> password = new Secret(value);
          case "user" -> user = value;
          case "connect_timeout" -> parameters.put("connectTimeout", value);
          case "application_name" -> parameters.put("ApplicationName", value);
          case "dbname" -> path = value;
          default -> parameters.put(name, value);
        }
      }
    }
    String database = decode(path, "database");
    if (database.isEmpty()) {
      database = user == null || user.isEmpty() ? "postgres" : user;
    }
    return new PostgresUrl(
        host, port, database, user == null || user.isEmpty() ? null : user, password, parameters);
  }

  /** pgjdbc's URL: host, port and database, no credentials and no parameters. */
  public String jdbcUrl() {
    return "jdbc:postgresql://"
        + host
        + ":"
        + port
        + "/"
        + URLEncoder.encode(database, StandardCharsets.UTF_8);
  }

  /**
   * The connection properties: the credentials, the URL's parameters, and Penstock's defaults where
   * the URL sets none (a 5 s connect timeout, TCP keepalive, the application name {@code penstock},
   * and no server detail in error messages: a duplicate key's detail quotes the key).
   */
  public Properties properties() {
    Properties properties = new Properties();
    properties.setProperty("connectTimeout", "5");
    properties.setProperty("tcpKeepAlive", "true");
    properties.setProperty("ApplicationName", "penstock");
    properties.setProperty("logServerErrorDetail", "false");
    parameters.forEach(properties::setProperty);
    if (user != null) {
      properties.setProperty("user", user);
    }
    if (password != null) {
      properties.setProperty("password", password.reveal());
    }
    return properties;
  }

  /** {@code host:port/db}: where, for messages. */
  public String address() {
    return host + ":" + port + "/" + database;
  }

  /** {@code PostgreSQL host:port/db}, for logs and errors. */
  public String describe() {
    return "PostgreSQL " + address();
  }

  /** The URL again, with the password masked. */
  @Override
  public String toString() {
    return "postgresql://"
        + (user == null ? "" : user + (password == null ? "" : ":****") + "@")
        + address()
        + (parameters.isEmpty() ? "" : "?" + parameters);
  }

  private static StorageException invalid(String why) {
    return new StorageException(
        "storage.postgres_url is not a usable postgresql://user:pass@host:port/db URL: " + why);
  }

  /** Percent-decoding as URIs do it ({@code +} stays a plus, unlike a form's). */
  private static String decode(String text, String what) {
    if (text.indexOf('%') < 0) {
      return text;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '%') {
        if (i + 2 >= text.length()) {
          throw invalid("its " + what + " has an incomplete %-escape");
        }
        int hi = Character.digit(text.charAt(i + 1), 16);
        int lo = Character.digit(text.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) {
          throw invalid("its " + what + " has an invalid %-escape");
        }
        bytes.write(hi * 16 + lo);
        i += 2;
      } else {
        int end = text.indexOf('%', i);
        byte[] encoded =
            text.substring(i, end < 0 ? text.length() : end).getBytes(StandardCharsets.UTF_8);
        bytes.write(encoded, 0, encoded.length);
        i = (end < 0 ? text.length() : end) - 1;
      }
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
