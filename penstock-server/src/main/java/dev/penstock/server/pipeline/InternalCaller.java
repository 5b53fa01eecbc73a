package dev.penstock.server.pipeline;

import dev.penstock.core.queue.Priority;
import org.jspecify.annotations.Nullable;

/**
 * Who makes a request that Penstock itself submits — a batch line, a message from a queue — in
 * place of the {@code Authorization} and {@code x-penstock-*} headers a client would send.
 *
 * <p>The caller stage takes it as it takes a client's headers: a named virtual key must still be
 * live (a line of a batch whose key was revoked since is refused with {@code 401}), the key's
 * priority ceiling does not apply (the work was accepted under it), and the key's models, RPM/TPM
 * and budgets apply as to any request.
 *
 * @param keyId the virtual key the work belongs to; null in open mode (or work of no key)
 * @param tenant the fairness identity when {@code keyId} is null (e.g. {@code batch:<id>})
 * @param priority where it queues; {@link Priority#BATCH} for work that only uses spare capacity
 * @param timeoutMillis its deadline, counted from when the pipeline takes it
 */
public record InternalCaller(
    @Nullable String keyId, String tenant, Priority priority, long timeoutMillis) {
  public InternalCaller {
    if (timeoutMillis < 1) {
      throw new IllegalArgumentException("timeoutMillis must be positive, got " + timeoutMillis);
    }
  }
}
