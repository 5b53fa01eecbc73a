package dev.penstock.mock;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** A misbehaviour the simulator can inject, named as in flags, YAML and {@code /__stats}. */
public enum FaultKind {
  /** {@code 500} with OpenAI's server_error body. */
  ERROR_500("500"),
  /** {@code 502} Bad Gateway, as a load balancer in front of the provider sends it. */
  ERROR_502("502"),
  /** {@code 503} with OpenAI's "engine overloaded" body. */
  ERROR_503("503"),
  /** The connection is dropped before any byte of the answer. */
  RESET("reset"),
  /** No answer at all until the client gives up (or the hang limit passes). */
  HANG("hang"),
  /** {@code 200} whose body (or one stream event) is not valid JSON. */
  MALFORMED("malformed"),
  /** The answer stops mid-way: a stream loses its tail and {@code [DONE]}, a body is truncated. */
  CUT("cut"),
  /** {@code 429 insufficient_quota}: the account is out of credit. */
  QUOTA("quota");

  private final String wireName;

  FaultKind(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }

  public static FaultKind fromWireName(String name) {
    String wanted = name.trim().toLowerCase(Locale.ROOT);
    for (FaultKind kind : values()) {
      if (kind.wireName.equals(wanted)) {
        return kind;
      }
    }
    throw new IllegalArgumentException(
        "unknown fault '"
            + name
            + "'; known: "
            + Arrays.stream(values()).map(FaultKind::wireName).collect(Collectors.joining(", ")));
  }
}
