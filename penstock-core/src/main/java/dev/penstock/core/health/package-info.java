/**
 * Deployment health: a circuit breaker per deployment that takes a failing upstream out of rotation
 * and lets one probe request test whether it recovered. Entry point: {@link
 * dev.penstock.core.health.CircuitBreaker}.
 */
@NullMarked
package dev.penstock.core.health;

import org.jspecify.annotations.NullMarked;
