package dev.penstock.server.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.core.cache.Embedder;
import dev.penstock.core.cache.SemanticIndex;
import dev.penstock.server.openai.Endpoint;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.ServiceLoader;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The semantic cache: a request may be answered with the answer to an earlier request whose prompt
 * means the same, opt-in per model ({@code models.<name>.cache.semantic: true}).
 *
 * <h2>What must match</h2>
 *
 * Only the prompt may differ, and only the last user message of it: every other parameter — the
 * system prompt, the whole history, temperature, tools — is hashed into the entry's <em>space</em>
 * (with the namespace and the model), and a lookup searches that space alone. Within it, the last
 * user message's embedding (a local model, {@link Embedder}, found with {@link ServiceLoader} in
 * the {@code penstock-semantic} module) must score at least the model's threshold by cosine, and
 * {@code PromptGuard} must find no difference in numbers, quoted text, negation or polarity words
 * or named entities between the two prompts — the embedding alone scores "safe" and "unsafe" at
 * 0.98 (docs/semantic-cache.md has the measured rates).
 *
 * <p>The index holds the entry's exact-cache key; the answer itself lives in the exact cache, so
 * its TTL, byte bound and invalidation apply: an index entry whose answer is gone is dropped at its
 * next match. The index is in process only (not shared through Redis). Thread-safe.
 */
final class SemanticCache implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SemanticCache.class);

  /**
   * Entries in the index at most; the oldest go first (about 1.6 KB each: 384 floats, a prompt).
   */
  static final int MAX_ENTRIES = 100_000;

  private static final char SEPARATOR = '\u0000';

  /**
   * The longest last user message looked up semantically. The embedding grows with the text (about
   * 1 ms for a sentence, 4 ms for 200 characters, 10 ms for 1,000), and the longer the text the
   * less one changed clause moves its vector. Longer ones are cached exactly only.
   */
  static final int MAX_PROMPT_CHARS = 500;

  private final Embedder embedder;
  private final SemanticIndex index;

  SemanticCache(Embedder embedder, int maxEntries) {
    this.embedder = embedder;
    this.index = new SemanticIndex(embedder.dimensions(), maxEntries);
  }

  /** The embedding model on the class path, loaded now; null (and a warning) when there is none. */
  static @Nullable SemanticCache load() {
    try {
      Embedder embedder = ServiceLoader.load(Embedder.class).findFirst().orElse(null);
      if (embedder == null) {
        LOG.warn(
            "cache: a model enables the semantic cache but no embedding model is on the class"
                + " path (the penstock-semantic module); only exact hits are served");
        return null;
      }
      LOG.info("cache: semantic cache on, embeddings from {}", embedder.name());
      return new SemanticCache(embedder, MAX_ENTRIES);
    } catch (RuntimeException | java.util.ServiceConfigurationError e) {
      LOG.warn(
          "cache: the embedding model failed to load ({}); only exact hits are served",
          e.toString());
      return null;
    }
  }

  /**
   * What a semantic lookup needs of one request: its space and its last user message, whose
   * embedding is computed at most once (a lookup and the store after a miss share it). Used by the
   * request's own thread.
   */
  static final class Probe {
    final String space;
    final String prompt;
    private float @Nullable [] vector;

    Probe(String space, String prompt) {
      this.space = space;
      this.prompt = prompt;
    }
  }

  /**
   * The probe of a request, or null when it has no single text prompt to compare (images, an empty
   * message, an endpoint without one).
   */
  @Nullable Probe probe(
      String namespace, String model, Endpoint endpoint, JsonNode root, Set<String> leaveOut) {
    ObjectNode rest = root.deepCopy();
    String prompt = takePrompt(endpoint, rest);
    if (prompt == null || prompt.isBlank() || prompt.length() > MAX_PROMPT_CHARS) {
      return null;
    }
    MessageDigest sha = CacheKeys.sha256();
    // The embedding model too: vectors of two models are not comparable.
    sha.update(embedder.name().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    sha.update((byte) 0);
    sha.update(CacheKeys.canonical(rest, leaveOut));
    return new Probe(
        namespace
            + SEPARATOR
            + model
            + SEPARATOR
            + endpoint.name()
            + SEPARATOR
            + HexFormat.of().formatHex(sha.digest()),
        prompt);
  }

  /**
   * Removes the prompt from {@code rest} (leaving an empty string where it was, so that its place
   * still counts) and returns it: chat's last user message, the Responses API's input (a string, or
   * its last user item), a legacy completion's prompt string.
   */
  private static @Nullable String takePrompt(Endpoint endpoint, ObjectNode rest) {
    return switch (endpoint) {
      case CHAT -> lastUser(rest.path("messages"), "content");
      case RESPONSES -> {
        JsonNode input = rest.path("input");
        if (input.isTextual()) {
          rest.put("input", "");
          yield input.asText();
        }
        yield lastUser(input, "content");
      }
      case COMPLETIONS -> {
        JsonNode prompt = rest.path("prompt");
        if (!prompt.isTextual()) {
          yield null;
        }
        rest.put("prompt", "");
        yield prompt.asText();
      }
      case EMBEDDINGS -> null;
    };
  }

  private static @Nullable String lastUser(JsonNode messages, String field) {
    if (!messages.isArray()) {
      return null;
    }
    for (int i = messages.size() - 1; i >= 0; i--) {
      JsonNode message = messages.get(i);
      if ("user".equals(message.path("role").asText())) {
        String text = text(message.path(field));
        if (text != null) {
          ((ObjectNode) message).put(field, "");
        }
        return text;
      }
    }
    return null;
  }

  /** A content's text: a string, or text parts only (an image or a file makes it no text). */
  private static @Nullable String text(JsonNode content) {
    if (content.isTextual()) {
      return content.asText();
    }
    if (!content.isArray()) {
      return null;
    }
    StringBuilder text = new StringBuilder();
    for (JsonNode part : content) {
      String type = part.path("type").asText();
      if (!type.equals("text") && !type.equals("input_text")) {
        return null;
      }
      text.append(text.isEmpty() ? "" : "\n").append(part.path("text").asText());
    }
    return text.toString();
  }

  /** The best match in the probe's space at {@code threshold} or above, or null. */
  SemanticIndex.@Nullable Match find(Probe probe, double threshold) {
    float[] vector = vector(probe);
    return vector == null ? null : index.find(probe.space, probe.prompt, vector, threshold);
  }

  /** Indexes a stored answer under its exact key. */
  void put(Probe probe, String exactHash) {
    float[] vector = vector(probe);
    if (vector != null) {
      index.put(probe.space, exactHash, probe.prompt, vector);
    }
  }

  /** Forgets an entry whose answer is gone. */
  void remove(Probe probe, String exactHash) {
    index.remove(probe.space, exactHash);
  }

  /** Forgets the entries of one model, one namespace, both or all (nulls); returns how many. */
  int invalidate(@Nullable String model, @Nullable String namespace) {
    return index.removeSpaces(
        space -> {
          String[] parts = space.split(String.valueOf(SEPARATOR), 3);
          return (namespace == null || namespace.equals(parts[0]))
              && (model == null || (parts.length > 1 && model.equals(parts[1])));
        });
  }

  int entries() {
    return index.size();
  }

  long bytes() {
    return index.bytes();
  }

  private float @Nullable [] vector(Probe probe) {
    if (probe.vector == null) {
      try {
        probe.vector = embedder.embed(probe.prompt);
      } catch (RuntimeException e) {
        LOG.warn("cache: embedding a prompt failed ({}); no semantic lookup", e.toString());
        return null;
      }
    }
    return probe.vector;
  }

  @Override
  public void close() {
    embedder.close();
  }
}
