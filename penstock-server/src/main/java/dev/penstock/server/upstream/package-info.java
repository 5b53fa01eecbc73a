/**
 * Calls to upstream deployments: a small interface ({@link
 * dev.penstock.server.upstream.UpstreamClient}) over an HTTP client, which streams answers back as
 * they arrive and tells a failure to connect (the upstream never saw the request) from a failure
 * after sending.
 */
@NullMarked
package dev.penstock.server.upstream;

import org.jspecify.annotations.NullMarked;
