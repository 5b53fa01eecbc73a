/**
 * Tenants (SPEC 8): virtual keys and their policy, the usage ledger and the storage behind both.
 * SQL stays behind {@link dev.penstock.server.tenant.KeyRepository} and {@link
 * dev.penstock.server.tenant.LedgerRepository}, so that the cluster mode can put PostgreSQL behind
 * the same interfaces without touching their callers.
 */
@NullMarked
package dev.penstock.server.tenant;

import org.jspecify.annotations.NullMarked;
