package dev.penstock.core.cache;

/**
 * One entry of a {@link SemanticIndex}: its key, its prompt, where its vector is, and what it holds
 * in memory. Identity is the entry (no equals): the index's age order holds entries, not keys.
 * Mutable slot, guarded by the index's lock.
 */
final class Entry {
  /**
   * Per entry beyond its strings: this object, its node in the age order and in its space's key
   * map, their table slots and its slot reference, measured as about 128 bytes
   * (docs/semantic-cache.md).
   */
  static final long OVERHEAD_BYTES = 128;

  final Space space;
  final String key;
  final String prompt;
  final long bytes;
  int slot;

  Entry(Space space, String key, String prompt) {
    this.space = space;
    this.key = key;
    this.prompt = prompt;
    this.bytes = OVERHEAD_BYTES + stringBytes(key) + stringBytes(prompt);
  }

  /** A String's heap size with compressed oops: 24 bytes, plus its byte[] of 1 or 2 per char. */
  static long stringBytes(String s) {
    boolean latin1 = s.chars().allMatch(c -> c < 256);
    long array = 16L + (long) s.length() * (latin1 ? 1 : 2);
    return 24L + ((array + 7) & ~7L);
  }
}
