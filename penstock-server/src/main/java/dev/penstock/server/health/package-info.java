/**
 * Active health checks: optional periodic probes of each deployment that feed its circuit breaker
 * (in core) without waiting for client traffic to find a dead upstream.
 */
@NullMarked
package dev.penstock.server.health;

import org.jspecify.annotations.NullMarked;
