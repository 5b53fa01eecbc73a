package dev.penstock.server.http;

import static dev.penstock.server.http.BadInputGateway.VALID_CHAT;
import static dev.penstock.server.http.RawHttp.assertOpenAiError;
import static dev.penstock.server.http.RawHttp.printable;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.server.http.RawHttp.Response;
import dev.penstock.server.openai.RequestReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Properties of the gateway under random bad input, over real sockets: whatever the body and the
 * headers, the answer is either a success or a 4xx in OpenAI's error shape, never a 5xx, and the
 * server keeps serving.
 *
 * <p>Seeded randomness (not jqwik, whose 1.10.1 release prints a notice forbidding its use by AI
 * agents): try {@code i} draws from {@code new Random(SEED + i)}, and a failure names its seed and
 * the request's bytes, so it can be replayed exactly.
 */
class BadInputPropertiesTest {
  private static final long SEED = 0x5EED_0004L;
  private static final int TRIES = 1000;
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private static BadInputGateway gateway;

  @BeforeAll
  static void start() {
    gateway = new BadInputGateway();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void mutatedBodiesAndAbsurdHeadersGetA2xxOrAnOpenAiShaped4xx() {
    for (int i = 0; i < TRIES; i++) {
      long seed = SEED + i;
      byte[] request = new Requests(new Random(seed)).next();
      String context = "seed " + seed + ", request " + printable(request);
      List<Response> answers = RawHttp.exchange(gateway.port(), request);
      assertThat(answers).as(context).isNotEmpty();
      answers.forEach(answer -> assertWellFormed(answer, context));
    }
    Response valid =
        RawHttp.single(gateway.port(), RawHttp.post("/v1/chat/completions", VALID_CHAT));
    assertThat(valid.status()).as("a valid request after the run").isEqualTo(200);
  }

  private static void assertWellFormed(Response answer, String context) {
    int status = answer.status();
    assertThat(status / 100).as("status %d for %s: %s", status, context, answer.text()).isIn(2, 4);
    if (status / 100 == 4) {
      assertOpenAiError(answer, context);
      assertThat(answer.text()).as(context).doesNotContain("\tat ", "Exception");
    } else {
      assertThat(answer.body()).as(context).isNotEmpty();
    }
  }

  /** Draws one request: a valid body for one endpoint, mutated, with absurd headers. */
  private static final class Requests {
    private final Random random;

    Requests(Random random) {
      this.random = random;
    }

    byte[] next() {
      String[] endpoint = pick(ENDPOINTS);
      ObjectNode body = valid(endpoint[0]);
      byte[] bytes = serialize(random.nextInt(4) == 0 ? body : mutateTree(body));
      if (random.nextInt(3) == 0) {
        bytes = mutateBytes(bytes);
      }
      String method = random.nextInt(20) == 0 ? pick(METHODS) : "POST";
      String path = random.nextInt(20) == 0 ? pick(PATHS) : "/v1" + endpoint[0];
      return RawHttp.request(method, path, headers(bytes.length), bytes);
    }

    private static final String[][] ENDPOINTS = {
      {"/chat/completions"}, {"/embeddings"}, {"/responses"}, {"/completions"}
    };
    private static final String[] METHODS = {"GET", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"};
    private static final String[] PATHS = {
      "/", "/v1", "/v1/models", "/v1/models/%00", "/v1//chat", "/v2/chat/completions", "/v1/x?y=z"
    };

    private ObjectNode valid(String endpoint) {
      ObjectNode body = NODES.objectNode();
      switch (endpoint) {
        case "/embeddings" -> {
          body.put("model", BadInputGateway.EMBEDDING_MODEL);
          body.putArray("input").add("alpha").add("beta");
        }
        case "/responses" -> {
          body.put("model", BadInputGateway.CHAT_MODEL);
          body.put("input", "Hello");
          body.put("max_output_tokens", 16);
        }
        case "/completions" -> {
          body.put("model", BadInputGateway.CHAT_MODEL);
          body.put("prompt", "Hello");
          body.put("max_tokens", 16);
        }
        default -> {
          body.put("model", BadInputGateway.CHAT_MODEL);
          ObjectNode message = body.putArray("messages").addObject();
          message.put("role", "user");
          message.put("content", "Hello");
          body.put("max_tokens", 16);
          body.put("stream", random.nextBoolean());
        }
      }
      return body;
    }

    /** Replaces, removes or adds one field, at the top or one level down, with any JSON. */
    private ObjectNode mutateTree(ObjectNode body) {
      ObjectNode target = body;
      List<String> names = new ArrayList<>();
      body.fieldNames().forEachRemaining(names::add);
      String name = random.nextInt(5) == 0 ? pick(FIELDS) : names.get(random.nextInt(names.size()));
      JsonNode child = body.get(name);
      if (child != null && child.isArray() && !child.isEmpty() && child.get(0).isObject()) {
        target = (ObjectNode) child.get(0); // e.g. messages[0]
        name = pick(new String[] {"role", "content", "name", "tool_calls"});
      }
      if (random.nextInt(4) == 0) {
        target.remove(name);
      } else {
        target.set(name, anyValue(0));
      }
      return body;
    }

    private static final String[] FIELDS = {
      "model",
      "messages",
      "input",
      "prompt",
      "stream",
      "n",
      "best_of",
      "max_tokens",
      "max_completion_tokens",
      "max_output_tokens",
      "stream_options",
      "temperature",
      "tools"
    };

    private JsonNode anyValue(int depth) {
      return switch (random.nextInt(depth > 2 ? 9 : 12)) {
        case 0 -> NODES.nullNode();
        case 1 -> NODES.booleanNode(random.nextBoolean());
        case 2 -> NODES.numberNode(random.nextLong());
        case 3 -> NODES.numberNode(new BigInteger(200, random));
        case 4 -> NODES.numberNode(random.nextInt(5) - 2);
        case 5 -> NODES.numberNode(random.nextDouble() * 1e300);
        case 6 -> NODES.textNode(randomString(random.nextInt(8) == 0 ? 3000 : 20));
        case 7 -> NODES.textNode("");
        case 8 -> NODES.arrayNode();
        case 9 -> nested(1 + random.nextInt(300));
        case 10 -> {
          ArrayNode array = NODES.arrayNode();
          for (int i = random.nextInt(4); i > 0; i--) {
            array.add(anyValue(depth + 1));
          }
          yield array;
        }
        default -> {
          ObjectNode object = NODES.objectNode();
          for (int i = random.nextInt(4); i > 0; i--) {
            object.set(pick(FIELDS), anyValue(depth + 1));
          }
          yield object;
        }
      };
    }

    /** Arrays nested {@code depth} deep: past the parser's limit of 200 when deeper. */
    private static JsonNode nested(int depth) {
      JsonNode node = NODES.arrayNode();
      for (int i = 1; i < depth; i++) {
        node = NODES.arrayNode().add(node);
      }
      return node;
    }

    private String randomString(int length) {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < length; i++) {
        text.appendCodePoint(
            switch (random.nextInt(4)) {
              case 0 -> random.nextInt(0x20); // control characters, escaped by the writer
              case 1 -> 0x1F600 + random.nextInt(80); // outside the BMP: surrogate pairs
              default -> 0x20 + random.nextInt(0x5F);
            });
      }
      return text.toString();
    }

    /** Byte-level damage: truncation, flipped bytes, invalid UTF-8, a duplicate key, garbage. */
    private byte[] mutateBytes(byte[] bytes) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int cut = random.nextInt(bytes.length + 1);
      switch (random.nextInt(5)) {
        case 0 -> out.write(bytes, 0, cut);
        case 1 -> {
          byte[] flipped = bytes.clone();
          for (int i = 1 + random.nextInt(3); i > 0 && flipped.length > 0; i--) {
            flipped[random.nextInt(flipped.length)] ^= (byte) (1 << random.nextInt(8));
          }
          out.writeBytes(flipped);
        }
        case 2 -> {
          out.write(bytes, 0, cut);
          out.writeBytes(pick(INVALID_UTF8));
          out.write(bytes, cut, bytes.length - cut);
        }
        case 3 -> {
          out.writeBytes("{\"model\":\"a\",".getBytes(StandardCharsets.UTF_8));
          out.write(bytes, 1, bytes.length - 1);
        }
        default -> {
          out.writeBytes(bytes);
          for (int i = random.nextInt(16); i >= 0; i--) {
            out.write(random.nextInt(256));
          }
        }
      }
      return out.toByteArray();
    }

    private static final byte[][] INVALID_UTF8 = {
      {(byte) 0xff},
      {(byte) 0xc3},
      {(byte) 0xc0, (byte) 0x80},
      {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
      {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
      {'"', (byte) 0xfe, '"'}
    };

    /**
     * For one request in three, one to three absurd headers, each chosen by what the gateway reads
     * from it (most break the framing, so more would leave the bodies untested).
     */
    private Map<String, String> headers(int bodyLength) {
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = random.nextInt(3) == 0 ? 1 + random.nextInt(3) : 0; i > 0; i--) {
        switch (random.nextInt(8)) {
          case 0 -> headers.put("x-penstock-priority", pick(PRIORITIES));
          case 1 -> headers.put("x-penstock-timeout-ms", pick(TIMEOUTS));
          case 2 -> headers.put("Authorization", "Bearer " + randomAscii(random.nextInt(300)));
          case 3 ->
              headers.put("Content-Length", Integer.toString(bodyLength + random.nextInt(7) - 3));
          case 4 -> headers.put("Transfer-Encoding", pick(ENCODINGS));
          case 5 ->
              headers.put(
                  "X-" + randomAscii(1 + random.nextInt(20)), randomAscii(random.nextInt(2000)));
          case 6 ->
              headers.put(
                  "Content-Type",
                  pick(new String[] {"text/plain", "", "application/json; charset=latin1"}));
          default -> headers.put("Expect", "100-continue");
        }
      }
      return headers;
    }

    private static final String[] PRIORITIES = {
      "high", "low", "urgent", "", "HIGH", "hígh", "normal,low"
    };
    private static final String[] TIMEOUTS = {
      "1", "0", "-1", "86400001", "99999999999999999999", "1e3", "abc", " 5 ", "", "0x10"
    };
    private static final String[] ENCODINGS = {"chunked", "gzip", "identity", "chunked, gzip", "x"};

    /** Printable ASCII, with a control character now and then (which must be refused). */
    private String randomAscii(int length) {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < length; i++) {
        text.append(
            random.nextInt(200) == 0
                ? (char) random.nextInt(0x20)
                : (char) (0x21 + random.nextInt(0x5E)));
      }
      return text.toString();
    }

    private <T> T pick(T[] options) {
      return options[random.nextInt(options.length)];
    }
  }

  private static byte[] serialize(JsonNode body) {
    try {
      return RequestReader.JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
