package dev.penstock.cli.bench;

import java.util.Locale;

/** The OpenAI endpoints bench can load, with the path each appends to the base URL. */
public enum Endpoint {
  CHAT("chat/completions", true),
  EMBEDDINGS("embeddings", false),
  COMPLETIONS("completions", true),
  RESPONSES("responses", true);

  private final String path;
  private final boolean streamable;

  Endpoint(String path, boolean streamable) {
    this.path = path;
    this.streamable = streamable;
  }

  /** The path below the base URL, without a leading slash, e.g. {@code chat/completions}. */
  public String path() {
    return path;
  }

  /** Whether the endpoint answers {@code stream: true} with server-sent events. */
  public boolean streamable() {
    return streamable;
  }

  /** The name used on the command line and in reports, e.g. {@code chat}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a command-line name such as {@code chat} or {@code embeddings}. */
  public static Endpoint parse(String text) {
    for (Endpoint endpoint : values()) {
      if (endpoint.label().equals(text.trim().toLowerCase(Locale.ROOT))) {
        return endpoint;
      }
    }
    throw new IllegalArgumentException(
        "unknown endpoint '" + text + "': expected chat, embeddings, completions or responses");
  }
}
