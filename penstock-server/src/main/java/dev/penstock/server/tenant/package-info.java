/**
 * Tenants (SPEC 8): virtual keys and their policy, the usage ledger and the storage behind both.
 * SQL stays behind {@link dev.penstock.server.tenant.KeyRepository} and {@link
 * dev.penstock.server.tenant.LedgerRepository}, so that the cluster mode can put PostgreSQL behind
 * the same interfaces without touching their callers. {@link dev.penstock.server.tenant.Storage} is
 * the single node's implementation, one SQLite file; {@link
 * dev.penstock.server.tenant.LedgerWriter} writes the ledger off the request path, in groups.
 */
@NullMarked
package dev.penstock.server.tenant;

import org.jspecify.annotations.NullMarked;
