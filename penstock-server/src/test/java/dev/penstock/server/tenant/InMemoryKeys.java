package dev.penstock.server.tenant;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A {@link KeyRepository} in a map, for tests of what sits on top of it. */
final class InMemoryKeys implements KeyRepository {
  final Map<String, VirtualKey> keys = new LinkedHashMap<>();

  @Override
  public synchronized void insert(VirtualKey key) {
    if (keys.containsKey(key.id())
        || keys.values().stream().anyMatch(k -> k.hash().equals(key.hash()))) {
      throw new IllegalStateException("duplicate");
    }
    keys.put(key.id(), key);
  }

  @Override
  public synchronized void update(VirtualKey key) {
    keys.put(key.id(), key);
  }

  @Override
  public synchronized boolean revoke(String id, Instant at) {
    VirtualKey k = keys.get(id);
    if (k == null || k.revokedAt() != null) {
      return false;
    }
    keys.put(id, k.withRevokedAt(at));
    return true;
  }

  @Override
  public synchronized Optional<VirtualKey> find(String id) {
    return Optional.ofNullable(keys.get(id));
  }

  @Override
  public synchronized List<VirtualKey> all() {
    return new ArrayList<>(keys.values());
  }
}
