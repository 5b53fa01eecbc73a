package dev.penstock.server.tenant;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * The virtual keys: created here (the full key leaves this class once, in {@link Created}), checked
 * here on every request, changed and revoked here.
 *
 * <p>A key is {@code pk-} and 32 random bytes in base64url. Only {@code HMAC-SHA-256(secret, key)}
 * is stored, never the key: a stolen database does not yield working keys, and without the secret
 * it cannot even be searched for a guessed key. The secret comes from {@code PENSTOCK_KEY_SECRET}
 * or from a file in the data directory, created on first start.
 *
 * <p>{@link #authenticate} is a map lookup by that hash, never a database read: every key is held
 * in memory (a gateway has thousands of keys, not millions), and every change goes through this
 * class, which writes the repository first and the map after. In cluster mode other instances
 * change the shared repository too: the storage tells this class ({@link #changed}, {@link
 * #resync}), which reads the key (or every key) again. Thread-safe.
 */
public final class VirtualKeys implements Storage.KeyChanges {
  /** What every virtual key starts with. */
  public static final String PREFIX = "pk-";

  private static final SecureRandom RANDOM = new SecureRandom();

  private final KeyRepository repository;
  private final Mac prototype;
  private final Clock clock;
  private final Map<String, VirtualKey> byHash = new ConcurrentHashMap<>();
  private final Map<String, VirtualKey> byId = new ConcurrentHashMap<>();

  /** A key just created: its record, and the full key, shown to the operator this once. */
  public record Created(VirtualKey record, String key) {}

  public VirtualKeys(KeyRepository repository, byte[] secret, Clock clock) {
    this.repository = repository;
    this.clock = clock;
    try {
      prototype = Mac.getInstance("HmacSHA256");
      prototype.init(new SecretKeySpec(secret, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA-256 is always available", e);
    }
    for (VirtualKey key : repository.all()) {
      remember(key);
    }
  }

  /**
   * The server secret keys are hashed with: {@code fromEnvironment} when set (at least 32
   * characters), else the file {@code key-secret} in {@code dataDir}, created with 32 random bytes
   * and owner-only permissions on first start. Keys hashed under one secret do not work under
   * another.
   */
  public static byte[] secret(Path dataDir, @Nullable String fromEnvironment) {
    if (fromEnvironment != null && !fromEnvironment.isBlank()) {
      if (fromEnvironment.length() < 32) {
        throw new IllegalArgumentException(
            "PENSTOCK_KEY_SECRET must be at least 32 characters long.");
      }
      return fromEnvironment.getBytes(StandardCharsets.UTF_8);
    }
    Path file = dataDir.resolve("key-secret");
    try {
      if (!Files.exists(file)) {
        Files.createDirectories(dataDir);
        byte[] fresh = new byte[32];
        RANDOM.nextBytes(fresh);
        String encoded = Base64.getUrlEncoder().withoutPadding().encodeToString(fresh);
        try {
          Files.createFile(file, ownerOnly(dataDir));
          Files.writeString(file, encoded + "\n");
        } catch (FileAlreadyExistsException raced) {
          // another process created it first: use theirs
        }
      }
      String stored = Files.readString(file).trim();
      if (stored.isEmpty()) {
        throw new IllegalStateException("The key secret file " + file + " is empty.");
      }
      return stored.getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read or create the key secret " + file, e);
    }
  }

  private static java.nio.file.attribute.FileAttribute<?>[] ownerOnly(Path dir) {
    return dir.getFileSystem().supportedFileAttributeViews().contains("posix")
        ? new java.nio.file.attribute.FileAttribute<?>[] {
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))
        }
        : new java.nio.file.attribute.FileAttribute<?>[0];
  }

  /** Whether any key was ever created (revoked ones count): then every request needs one. */
  public boolean any() {
    return !byId.isEmpty();
  }

  /**
   * The live key presented, if any: the whole check a request pays for, one HMAC and one lookup.
   * Revoked, expired and unknown keys all answer empty: the client is not told which.
   */
  public Optional<VirtualKey> authenticate(String presented) {
    if (!presented.startsWith(PREFIX) || presented.length() > 128) {
      return Optional.empty();
    }
    VirtualKey key = byHash.get(hash(presented));
    if (key == null || !key.liveAt(clock.instant())) {
      return Optional.empty();
    }
    return Optional.of(key);
  }

  /**
   * Creates a key with the policy of {@code template} (its id, hash, suffix and times are ignored).
   */
  public Created create(VirtualKey template) {
    byte[] random = new byte[32];
    RANDOM.nextBytes(random);
    String key = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    byte[] idBytes = new byte[12];
    RANDOM.nextBytes(idBytes);
    VirtualKey record =
        new VirtualKey(
            "key_" + HexFormat.of().formatHex(idBytes),
            template.name(),
            hash(key),
            key.substring(key.length() - 4),
            template.models(),
            template.rpm(),
            template.tpm(),
            template.maxPriority(),
            template.budgetUsdDaily(),
            template.budgetUsdMonthly(),
            template.expiresAt(),
            template.metadata(),
            clock.instant(),
            null);
    synchronized (this) {
      repository.insert(record);
      remember(record);
    }
    return new Created(record, key);
  }

  /** Changes a key's policy; empty if no key has that id. A revoked key stays revoked. */
  public synchronized Optional<VirtualKey> update(String id, UnaryOperator<VirtualKey> change) {
    VirtualKey old = byId.get(id);
    if (old == null) {
      return Optional.empty();
    }
    VirtualKey changed = change.apply(old);
    VirtualKey next =
        new VirtualKey(
            old.id(),
            changed.name(),
            old.hash(),
            old.suffix(),
            changed.models(),
            changed.rpm(),
            changed.tpm(),
            changed.maxPriority(),
            changed.budgetUsdDaily(),
            changed.budgetUsdMonthly(),
            changed.expiresAt(),
            changed.metadata(),
            old.createdAt(),
            old.revokedAt());
    repository.update(next);
    remember(next);
    return Optional.of(next);
  }

  /** Revokes a key at once: its next request gets {@code 401}. Empty if no key has that id. */
  public synchronized Optional<VirtualKey> revoke(String id) {
    VirtualKey old = byId.get(id);
    if (old == null) {
      return Optional.empty();
    }
    if (old.revokedAt() != null) {
      return Optional.of(old);
    }
    Instant now = clock.instant();
    repository.revoke(id, now);
    VirtualKey revoked = old.withRevokedAt(now);
    remember(revoked);
    return Optional.of(revoked);
  }

  public Optional<VirtualKey> find(String id) {
    return Optional.ofNullable(byId.get(id));
  }

  /** Every key, revoked ones included, oldest first. */
  public List<VirtualKey> all() {
    return byId.values().stream()
        .sorted(java.util.Comparator.comparing(VirtualKey::createdAt).thenComparing(VirtualKey::id))
        .toList();
  }

  /**
   * Reads the key {@code keyId} again from the repository (another instance created, changed or
   * revoked it): a revoked key is refused from now on, a key no longer stored is forgotten.
   */
  @Override
  public synchronized void changed(String keyId) {
    Optional<VirtualKey> stored = repository.find(keyId);
    if (stored.isPresent()) {
      remember(stored.get());
    } else {
      forget(keyId);
    }
  }

  /** Reads every key again from the repository, forgetting the ones no longer stored. */
  @Override
  public synchronized void resync() {
    List<VirtualKey> stored = repository.all();
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (VirtualKey key : stored) {
      ids.add(key.id());
      remember(key);
    }
    for (String id : List.copyOf(byId.keySet())) {
      if (!ids.contains(id)) {
        forget(id);
      }
    }
  }

  private void forget(String id) {
    VirtualKey old = byId.remove(id);
    if (old != null) {
      byHash.remove(old.hash());
    }
  }

  private void remember(VirtualKey key) {
    byHash.put(key.hash(), key);
    byId.put(key.id(), key);
  }

  private String hash(String key) {
    try {
      Mac mac = (Mac) prototype.clone();
      return HexFormat.of().formatHex(mac.doFinal(key.getBytes(StandardCharsets.UTF_8)));
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException("the JDK's HMAC can be cloned", e);
    }
  }
}
