package dev.penstock.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The answer to a {@link PenstockRequest}: the upstream's status, headers and body as it sent them,
 * or Penstock's own error in OpenAI's shape ({@code 429 penstock_overloaded} with {@code
 * Retry-After} when the call could not start before its deadline, {@code 503 shutting_down}, ...).
 * Either way it carries {@code x-penstock-deployment} (once an attempt was made), {@code
 * x-penstock-attempts} and {@code x-penstock-queue-ms}.
 *
 * <p>Close it (try-with-resources). A streamed answer holds its reservation until its body is read
 * to the end or closed: only then is the deployment's charge settled with the stream's usage.
 *
 * @param headers header names are lower case
 */
public record PenstockResponse(int status, Map<String, List<String>> headers, InputStream body)
    implements AutoCloseable {

  /** A header's first value. */
  public Optional<String> header(String name) {
    List<String> values = headers.get(name.toLowerCase(java.util.Locale.ROOT));
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.getFirst());
  }

  /** The deployment that answered; empty for an answer Penstock gave itself before any attempt. */
  public Optional<String> deployment() {
    return header("x-penstock-deployment");
  }

  @Override
  public void close() {
    try {
      body.close();
    } catch (IOException e) {
      // closing a finished body: nothing to do
    }
  }
}
