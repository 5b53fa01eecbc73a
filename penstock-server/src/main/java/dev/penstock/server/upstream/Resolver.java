package dev.penstock.server.upstream;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Resolves an upstream's (or a proxy's) host name to all its addresses. Called only when a new
 * connection is opened, never per request; the JDK's own cache (30 s by default) spares DNS.
 */
@FunctionalInterface
public interface Resolver {
  /** The platform's resolver: every address of the host. */
  Resolver SYSTEM = InetAddress::getAllByName;

  /** Every address of {@code host}, at least one. */
  InetAddress[] resolve(String host) throws UnknownHostException;
}
