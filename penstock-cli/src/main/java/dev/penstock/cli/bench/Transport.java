package dev.penstock.cli.bench;

import java.io.IOException;
import java.io.InputStream;

/**
 * Sends one POST to the run's endpoint and hands back the answer's status, the gateway headers
 * bench reports, and the body as a stream. One instance serves every request of a run, from many
 * threads at once.
 *
 * <p>The seam keeps the HTTP client replaceable (see {@link HelidonTransport} for why it is
 * Helidon's) and lets tests script answers without sockets.
 */
interface Transport extends AutoCloseable {

  /**
   * Sends {@code body} and blocks until the status line and headers have arrived.
   *
   * @throws java.net.SocketTimeoutException when the answer does not start within the timeout
   * @throws IOException any other way of getting no answer: refused, reset, connect timeout
   * @throws InterruptedException when the calling thread is interrupted; the request is then
   *     abandoned
   */
  HttpReply send(byte[] body) throws IOException, InterruptedException;

  /**
   * Exercises the client once without touching the target, before the run's clock starts, so that
   * its one-time costs (class loading, first-use initialisation) do not count as the target's
   * latency. Best effort: failures are ignored.
   */
  default void warmUp() {}

  /** Releases connections and threads; requests still running fail. */
  @Override
  void close();

  /**
   * The start of an answer. The caller must close {@code body}.
   *
   * @param status the HTTP status
   * @param deployment {@code x-penstock-deployment}, or empty when absent
   * @param queueMicros {@code x-penstock-queue-ms} in microseconds, or -1 when absent or not a
   *     number
   * @param body the body; empty for answers outside 2xx, which bench does not read
   */
  record HttpReply(int status, String deployment, long queueMicros, InputStream body) {

    /** Parses {@code x-penstock-queue-ms}, which may be fractional; -1 when blank or invalid. */
    static long queueMicros(String headerValue) {
      if (headerValue.isBlank()) {
        return Completion.NONE;
      }
      try {
        double millis = Double.parseDouble(headerValue.trim());
        return millis >= 0 && Double.isFinite(millis)
            ? Math.round(millis * 1_000)
            : Completion.NONE;
      } catch (NumberFormatException e) {
        return Completion.NONE; // a malformed header is not worth failing a request over
      }
    }
  }
}
