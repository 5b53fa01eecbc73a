/**
 * {@code penstock keys}, {@code penstock usage} and {@code penstock batches}: command-line clients
 * of the gateway's admin API (docs/tenants-cli.md, docs/batches.md).
 *
 * <p>{@link dev.penstock.cli.admin.AdminOptions} is the mixin every command shares (where the
 * gateway is, the admin key, the clock); {@code AdminClient} makes the calls and turns every
 * failure — an error answer, a refused connection — into one {@code AdminException} whose message
 * is the one line the user reads (the launcher prints it and exits with 1). The admin key goes only
 * into the {@code Authorization} header: no message, table or error carries it.
 *
 * <p>Each command runs on the caller's thread, one call at a time; nothing here is shared.
 */
package dev.penstock.cli.admin;
