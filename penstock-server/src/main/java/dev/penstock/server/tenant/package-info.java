/**
 * Tenants (SPEC 8): virtual keys and their policy, the usage ledger and the storage behind both.
 * SQL stays behind {@link dev.penstock.server.tenant.KeyRepository} and {@link
 * dev.penstock.server.tenant.LedgerRepository}, so that the cluster mode can put PostgreSQL behind
 * the same interfaces without touching their callers. {@link dev.penstock.server.tenant.Storage}
 * opens either: {@link dev.penstock.server.tenant.SqliteStorage}, a single node's SQLite file, or
 * {@link dev.penstock.server.tenant.PostgresStorage}, shared by the instances of a cluster; the SQL
 * repositories run on both through {@link dev.penstock.server.tenant.SqlDatabase}. {@link
 * dev.penstock.server.tenant.LedgerWriter} writes the ledger off the request path, in groups.
 */
@NullMarked
package dev.penstock.server.tenant;

import org.jspecify.annotations.NullMarked;
