package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.RequestReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A raw HTTP/1.1 client for tests that must send what no well-behaved client would: it writes the
 * bytes it is given, half-closes, and parses every answer the server sends until it closes. (A
 * gateway whose client watch sweeps takes the half-close for a client that left.)
 */
final class RawHttp {
  private RawHttp() {}

  /** One answer; header names lower-cased. */
  @SuppressWarnings("ArrayRecordComponent") // an answer read once, never compared
  record Response(int status, Map<String, String> headers, byte[] body) {
    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    JsonNode json() {
      try {
        return RequestReader.JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + text(), e);
      }
    }
  }

  /** Sends {@code request} on a new connection; the final (non-1xx) answers, in order. */
  static List<Response> exchange(int port, byte[] request) {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(20_000); // a guard against a hang, never reached when the server works
      OutputStream out = socket.getOutputStream();
      out.write(request);
      out.flush();
      // The end of the request stream makes the server close once it has answered.
      socket.shutdownOutput();
      return parse(socket.getInputStream().readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The one answer to {@code request}. */
  static Response single(int port, byte[] request) {
    List<Response> answers = exchange(port, request);
    assertThat(answers).as("answers to one request").hasSize(1);
    return answers.getFirst();
  }

  static byte[] request(String method, String path, Map<String, String> headers, byte[] body) {
    StringBuilder head =
        new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n");
    headers.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
    if (!headers.containsKey("Content-Length") && !headers.containsKey("Transfer-Encoding")) {
      head.append("Content-Length: ").append(body.length).append("\r\n");
    }
    return concat(head.append("\r\n").toString().getBytes(StandardCharsets.UTF_8), body);
  }

  static byte[] post(String path, String body) {
    return request("POST", path, Map.of(), body.getBytes(StandardCharsets.UTF_8));
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] both = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }

  /** Asserts OpenAI's error shape: a non-empty message, a type, and param and code present. */
  static void assertOpenAiError(Response response, String context) {
    assertThat(response.headers().get("content-type")).as(context).startsWith("application/json");
    JsonNode error = response.json().path("error");
    assertThat(error.path("message").isTextual() && !error.path("message").asText().isEmpty())
        .as("error.message in %s: %s", context, response.text())
        .isTrue();
    assertThat(error.path("type").isTextual()).as("error.type in %s", context).isTrue();
    assertThat(error.has("param") && error.has("code")).as("param, code in %s", context).isTrue();
  }

  private static List<Response> parse(byte[] wire) {
    List<Response> answers = new ArrayList<>();
    int at = 0;
    while (at < wire.length) {
      int end = indexOf(wire, at, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      if (end < 0) {
        throw new AssertionError("incomplete answer: " + ascii(wire, at, wire.length));
      }
      String[] lines = ascii(wire, at, end).split("\r\n", -1);
      int status = Integer.parseInt(lines[0].split(" ", 3)[1]);
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        headers.put(
            lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
            lines[i].substring(colon + 1).trim());
      }
      at = end + 4;
      if (status / 100 == 1) {
        continue;
      }
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      at = readBody(wire, at, headers, body);
      answers.add(new Response(status, headers, body.toByteArray()));
    }
    return answers;
  }

  private static int readBody(
      byte[] wire, int at, Map<String, String> headers, ByteArrayOutputStream body) {
    if (headers.containsKey("content-length")) {
      int length = Integer.parseInt(headers.get("content-length"));
      body.write(wire, at, length);
      return at + length;
    }
    if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      while (true) {
        int eol = indexOf(wire, at, new byte[] {'\r', '\n'});
        int size = Integer.parseInt(ascii(wire, at, eol).trim(), 16);
        at = eol + 2;
        if (size == 0) {
          return at + 2;
        }
        body.write(wire, at, size);
        at += size + 2;
      }
    }
    body.write(wire, at, wire.length - at);
    return wire.length;
  }

  private static int indexOf(byte[] data, int from, byte[] needle) {
    outer:
    for (int i = from; i <= data.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (data[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static String ascii(byte[] data, int from, int to) {
    return new String(data, from, to - from, StandardCharsets.ISO_8859_1);
  }

  /** Printable for an assertion message: control bytes escaped, at most 600 characters. */
  static String printable(byte[] request) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < request.length && text.length() < 600; i++) {
      int b = request[i] & 0xff;
      text.append(b >= 0x20 && b < 0x7f ? String.valueOf((char) b) : String.format("\\x%02x", b));
    }
    return request.length > 600 ? text + "... (" + request.length + " bytes)" : text.toString();
  }
}
