/**
 * The scheduling engine of Penstock: deployments and their limits, pacing, reservations, the
 * admission queue and the routing choice. No HTTP, no JSON, no drivers: time is a {@link
 * dev.penstock.core.time.Ticker} and everything else is plain Java.
 *
 * <p>Entry points: {@link dev.penstock.core.Scheduler} (the pure, single-threaded state machine,
 * driven in virtual time by the simulation tests) and {@link dev.penstock.core.Admissions} (the
 * blocking front of it that request threads park on).
 */
@NullMarked
package dev.penstock.core;

import org.jspecify.annotations.NullMarked;
