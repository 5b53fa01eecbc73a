package dev.penstock.server.batch;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Ids as OpenAI shapes them: {@code file-…}, {@code batch_…}, {@code batch_req_…}. The files a
 * batch writes get ids derived from the batch's, so a batch finalized twice (a restart during
 * {@code finalizing}) writes the same files again rather than new ones.
 */
public final class BatchIds {
  private static final SecureRandom RANDOM = new SecureRandom();

  private BatchIds() {}

  public static String file() {
    return "file-" + random(12);
  }

  public static String batch() {
    return "batch_" + random(12);
  }

  /** The output file of {@code batchId}. */
  public static String outputFile(String batchId) {
    return "file-" + derived(batchId, "output");
  }

  /** The error file of {@code batchId}. */
  public static String errorFile(String batchId) {
    return "file-" + derived(batchId, "errors");
  }

  /** An output line's {@code id}: the same for a line however often it is written. */
  public static String request(String batchId, int index) {
    return "batch_req_" + derived(batchId, Integer.toString(index));
  }

  private static String random(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static String derived(String batchId, String what) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(batchId.getBytes(StandardCharsets.UTF_8));
      sha.update((byte) 0);
      sha.update(what.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(sha.digest(), 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }
}
