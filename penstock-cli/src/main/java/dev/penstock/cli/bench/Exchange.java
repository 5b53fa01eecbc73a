package dev.penstock.cli.bench;

import java.io.IOException;
import java.net.SocketTimeoutException;

/**
 * Performs one request from body to last byte and classifies how it ended. Never throws: every
 * failure is an {@link Outcome}, so no request can vanish from the counts. Thread-safe.
 */
final class Exchange {
  private final RequestBodies bodies;
  private final BenchOptions options;
  private final Transport transport;
  private final ReplyReader reader;
  private final BenchClock clock;

  Exchange(BenchOptions options, Transport transport, BenchClock clock) {
    this.bodies = new RequestBodies(options);
    this.options = options;
    this.transport = transport;
    this.reader = new ReplyReader(options.endpoint(), options.stream(), clock);
    this.clock = clock;
  }

  /** Sends request {@code number} and blocks until it has ended one way or another. */
  Completion perform(long number) {
    try {
      Transport.HttpReply reply = transport.send(bodies.body(options.promptNumber(number)));
      Outcome outcome = Outcome.ofStatus(reply.status());
      if (outcome.kind() == Outcome.Kind.OK) {
        return reader.read(reply);
      }
      reply.body().close();
      return new Completion(
          outcome,
          clock.nanoTime(),
          Completion.NONE,
          0,
          0,
          reply.queueMicros(),
          reply.deployment());
    } catch (SocketTimeoutException e) {
      return Completion.failed(Outcome.TIMEOUT, clock.nanoTime());
    } catch (IOException e) {
      return Completion.failed(Outcome.CONNECTION_ERROR, clock.nanoTime());
    } catch (InterruptedException e) {
      // Only the timeout sweep interrupts a request, and it has already counted it.
      Thread.currentThread().interrupt();
      return Completion.failed(Outcome.TIMEOUT, clock.nanoTime());
    } catch (RuntimeException e) {
      return Completion.failed(Outcome.CLIENT_ERROR, clock.nanoTime());
    }
  }
}
