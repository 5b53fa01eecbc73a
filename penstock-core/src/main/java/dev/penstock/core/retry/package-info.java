/**
 * When and how often a failed attempt is tried again: the policy and its backoff schedule
 * (exponential with full jitter). Entry point: {@link dev.penstock.core.retry.RetryPolicy}.
 */
@NullMarked
package dev.penstock.core.retry;

import org.jspecify.annotations.NullMarked;
