package dev.penstock.server.tenant;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where virtual keys are kept. Implementations are thread-safe; every call is a short transaction.
 * Callers on the request path never call this: they read {@link VirtualKeys}' in-memory view.
 */
public interface KeyRepository {
  /** Stores a new key; its id and hash are unique. */
  void insert(VirtualKey key);

  /** Replaces a key's policy (name, models, limits, budgets, expiry, metadata) by its id. */
  void update(VirtualKey key);

  /** Marks a key revoked at {@code at}; returns false if no live key has that id. */
  boolean revoke(String id, Instant at);

  Optional<VirtualKey> find(String id);

  /** Every key, revoked ones included, oldest first. */
  List<VirtualKey> all();
}
