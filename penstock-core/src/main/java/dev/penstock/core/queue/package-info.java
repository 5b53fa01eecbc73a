/**
 * The admission queue: requests that found no deployment with room wait here, ordered by priority,
 * then round-robin between tenants, then by arrival. Entry point: {@link
 * dev.penstock.core.queue.WaitQueue}.
 */
@NullMarked
package dev.penstock.core.queue;

import org.jspecify.annotations.NullMarked;
