/**
 * What the gateway tells its operator about each request (SPEC 12): the {@link
 * dev.penstock.server.telemetry.RequestRecord} the pipeline fills as a request goes, and the
 * observers it is handed to when the request ends — Prometheus metrics, the access log line and the
 * live dashboard's history. Nothing here ever holds an upstream key.
 */
@NullMarked
package dev.penstock.server.telemetry;

import org.jspecify.annotations.NullMarked;
