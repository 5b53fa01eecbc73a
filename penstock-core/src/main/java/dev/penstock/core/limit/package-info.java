/**
 * Per-deployment limits: smooth pacing under RPM and TPM (a GCRA schedule) backed by an exact
 * sliding-window log of reservations, concurrency, cooldowns and corrections learned from the
 * upstream's {@code x-ratelimit-*} headers. Entry point: {@link
 * dev.penstock.core.limit.DeploymentLimiter}.
 */
@NullMarked
package dev.penstock.core.limit;

import org.jspecify.annotations.NullMarked;
