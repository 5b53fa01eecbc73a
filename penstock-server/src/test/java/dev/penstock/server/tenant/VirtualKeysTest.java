package dev.penstock.server.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VirtualKeysTest {
  private static final byte[] SECRET = "s".repeat(32).getBytes(StandardCharsets.UTF_8);
  private final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T10:00:00Z"));
  private final InMemoryKeys repository = new InMemoryKeys();

  private static VirtualKey policy(String name) {
    return new VirtualKey(
        "", name, "", "", List.of(), 0, 0, "high", 0, 0, null, Map.of(), Instant.EPOCH, null);
  }

  @Test
  void onlyAKeyedHashIsStoredAndTheKeyAuthenticates() {
    VirtualKeys keys = new VirtualKeys(repository, SECRET, clock);
    assertThat(keys.any()).isFalse();
    VirtualKeys.Created created = keys.create(policy("svc"));
    String key = created.key();
    assertThat(key).startsWith("pk-").hasSize(3 + 43);
    VirtualKey stored = repository.keys.get(created.record().id());
    assertThat(stored.hash()).hasSize(64).doesNotContain(key.substring(3));
    assertThat(stored.toString()).doesNotContain(key.substring(3));
    assertThat(stored.suffix()).isEqualTo(key.substring(key.length() - 4));
    assertThat(keys.any()).isTrue();
    assertThat(keys.authenticate(key)).map(VirtualKey::id).hasValue(stored.id());
    assertThat(keys.authenticate(key + "x")).isEmpty();
    assertThat(keys.authenticate("sk-" + key.substring(3))).isEmpty();
    assertThat(keys.authenticate("")).isEmpty();
  }

  @Test
  void aKeyFromAnotherSecretDoesNotAuthenticate() {
    String key = new VirtualKeys(repository, SECRET, clock).create(policy("svc")).key();
    byte[] other = "t".repeat(32).getBytes(StandardCharsets.UTF_8);
    assertThat(new VirtualKeys(repository, other, clock).authenticate(key)).isEmpty();
    // and the same secret after a restart still knows it, from the repository
    assertThat(new VirtualKeys(repository, SECRET, clock).authenticate(key)).isPresent();
  }

  @Test
  void revokedAndExpiredKeysStopAtOnce() {
    VirtualKeys keys = new VirtualKeys(repository, SECRET, clock);
    VirtualKeys.Created revoked = keys.create(policy("a"));
    VirtualKey expiring = policy("b");
    VirtualKeys.Created expires =
        keys.create(
            new VirtualKey(
                "",
                "b",
                "",
                "",
                List.of(),
                0,
                0,
                "high",
                0,
                0,
                clock.instant().plusSeconds(60),
                Map.of(),
                Instant.EPOCH,
                null));
    assertThat(expiring.expiresAt()).isNull();
    assertThat(keys.revoke(revoked.record().id())).map(VirtualKey::revokedAt).isPresent();
    assertThat(keys.authenticate(revoked.key())).isEmpty();
    assertThat(repository.keys.get(revoked.record().id()).revokedAt()).isNotNull();
    assertThat(keys.authenticate(expires.key())).isPresent();
    clock.now = clock.now.plusSeconds(60);
    assertThat(keys.authenticate(expires.key())).isEmpty();
    assertThat(keys.revoke("key_unknown")).isEmpty();
    assertThat(keys.any()).isTrue(); // revoked keys still mean "keys exist": no open mode again
  }

  @Test
  void anUpdateChangesThePolicyButNeverTheIdentity() {
    VirtualKeys keys = new VirtualKeys(repository, SECRET, clock);
    VirtualKeys.Created created = keys.create(policy("a"));
    VirtualKey updated =
        keys.update(
                created.record().id(),
                k ->
                    new VirtualKey(
                        "other",
                        "renamed",
                        "forged",
                        "zzzz",
                        List.of("gpt-4o"),
                        5,
                        6,
                        "low",
                        1,
                        2,
                        null,
                        Map.of("t", "x"),
                        Instant.EPOCH,
                        null))
            .orElseThrow();
    assertThat(updated.id()).isEqualTo(created.record().id());
    assertThat(updated.hash()).isEqualTo(created.record().hash());
    assertThat(updated.name()).isEqualTo("renamed");
    assertThat(updated.rpm()).isEqualTo(5);
    assertThat(keys.authenticate(created.key())).map(VirtualKey::rpm).hasValue(5L);
    assertThat(repository.keys.get(updated.id()).models()).containsExactly("gpt-4o");
  }

  @Test
  void theSecretIsCreatedOnceOwnerOnlyAndReadAfterwards(@TempDir Path dir) throws Exception {
    byte[] first = VirtualKeys.secret(dir, null);
    byte[] again = VirtualKeys.secret(dir, null);
    assertThat(again).isEqualTo(first);
    assertThat(
            PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("key-secret"))))
        .isEqualTo("rw-------");
    byte[] fromEnvironment = VirtualKeys.secret(dir, "e".repeat(40));
    assertThat(fromEnvironment).isNotEqualTo(first);
    assertThatThrownBy(() -> VirtualKeys.secret(dir, "short"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("PENSTOCK_KEY_SECRET");
  }

  /** A clock the test moves. */
  static final class MutableClock extends Clock {
    Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
