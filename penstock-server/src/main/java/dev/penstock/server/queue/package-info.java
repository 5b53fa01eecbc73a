/**
 * The RabbitMQ ingress (SPEC 7, docs/queues.md): OpenAI requests consumed from a priority queue,
 * executed through the pipeline like any client's, answered on each message's {@code reply_to}, and
 * acknowledged only once the answer (or the dead-letter copy of a permanent failure) is confirmed
 * by the broker.
 *
 * <p>{@link dev.penstock.server.queue.RabbitIngress} is the only public type: the connection, the
 * consumer and its window, and the lifecycle. The rest reads a message ({@code QueuedRequest}) and
 * decides what becomes of it ({@code Disposition}).
 */
@NullMarked
package dev.penstock.server.queue;

import org.jspecify.annotations.NullMarked;
