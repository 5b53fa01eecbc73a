package dev.penstock.core.limit;

/**
 * The exact record of what one deployment has been charged in the current window: one entry per
 * reservation, with the time it stops counting and its request and token charges.
 *
 * <h2>Design</h2>
 *
 * <p>A ring buffer of parallel primitive arrays, oldest first. Entries are addressed by a
 * monotonically increasing sequence number, so that a reservation can later adjust its own entry (a
 * refund, a charge for real usage) while it is still in the window, in O(1). Expiry times are kept
 * non-decreasing (an entry never expires before an older one), which keeps {@link #expire} a pop
 * from the front and lets {@link #fitTimeNanos} walk forward in time.
 *
 * <p>Not thread-safe; the scheduler's lock guards it.
 */
final class ReservationLog {
  private long[] expiries = new long[16];
  private long[] tokens = new long[16];
  private byte[] requests = new byte[16];
  private long headSeq;
  private int size;
  private long requestSum;
  private long tokenSum;

  long requests() {
    return requestSum;
  }

  long tokens() {
    return tokenSum;
  }

  /** Adds a reservation of one request and {@code tokenCost} tokens; returns its sequence. */
  long add(long expiryNanos, long tokenCost) {
    if (size == expiries.length) {
      grow();
    }
    if (size > 0) {
      expiryNanos = Math.max(expiryNanos, expiries[index(headSeq + size - 1)]);
    }
    int i = index(headSeq + size);
    expiries[i] = expiryNanos;
    tokens[i] = tokenCost;
    requests[i] = 1;
    size++;
    requestSum++;
    tokenSum += tokenCost;
    return headSeq + size - 1;
  }

  /** Drops entries that stop counting at or before {@code nowNanos}. */
  void expire(long nowNanos) {
    while (size > 0 && expiries[index(headSeq)] <= nowNanos) {
      int i = index(headSeq);
      requestSum -= requests[i];
      tokenSum -= tokens[i];
      headSeq++;
      size--;
    }
  }

  /** When the newest entry stops counting, or {@link Long#MIN_VALUE} when the log is empty. */
  long lastExpiryNanos() {
    return size == 0 ? Long.MIN_VALUE : expiries[index(headSeq + size - 1)];
  }

  /**
   * What the live entries still count, grouped by how long they go on counting, rounded up to
   * {@code groupNanos}: {@code [nanos left, requests, tokens]} per group, soonest first. Call
   * {@link #expire} first.
   */
  java.util.List<long[]> remaining(long nowNanos, long groupNanos) {
    java.util.List<long[]> groups = new java.util.ArrayList<>();
    for (int k = 0; k < size; k++) {
      int i = index(headSeq + k);
      if (requests[i] == 0 && tokens[i] == 0) {
        continue; // cancelled
      }
      long left = Math.max(0, expiries[i] - nowNanos);
      long rounded = (left + groupNanos - 1) / groupNanos * groupNanos;
      long[] last = groups.isEmpty() ? null : groups.getLast();
      if (last != null && last[0] == rounded) {
        last[1] += requests[i];
        last[2] += tokens[i];
      } else {
        groups.add(new long[] {rounded, requests[i], tokens[i]});
      }
    }
    return groups;
  }

  /** Forgets the {@code count} oldest entries (those already told elsewhere). */
  void dropOldest(long count) {
    for (long k = 0; k < count && size > 0; k++) {
      int i = index(headSeq);
      requestSum -= requests[i];
      tokenSum -= tokens[i];
      headSeq++;
      size--;
    }
  }

  /** Forgets every entry. */
  void clear() {
    headSeq += size;
    size = 0;
    requestSum = 0;
    tokenSum = 0;
  }

  boolean contains(long seq) {
    return seq >= headSeq && seq < headSeq + size;
  }

  /** Sets the token charge of a live entry (no effect once it has left the window). */
  void setTokens(long seq, long newTokens) {
    if (contains(seq)) {
      int i = index(seq);
      tokenSum += newTokens - tokens[i];
      tokens[i] = newTokens;
    }
  }

  /** Removes a live entry's charges entirely: the provider never counted it. */
  void cancel(long seq) {
    if (contains(seq)) {
      int i = index(seq);
      requestSum -= requests[i];
      tokenSum -= tokens[i];
      requests[i] = 0;
      tokens[i] = 0;
    }
  }

  /**
   * The earliest time at or after {@code nowNanos} at which one more request costing {@code
   * tokenCost} fits under both limits, counting the phantom use learned from the upstream until its
   * own expiry. The caller ensures {@code tokenCost <= tpm}; call {@link #expire} first.
   */
  long fitTimeNanos(long nowNanos, long tokenCost, long rpm, long tpm, Phantom phantom) {
    long req = requestSum;
    long tok = tokenSum;
    if (fits(req, tok, nowNanos, tokenCost, rpm, tpm, phantom)) {
      return nowNanos;
    }
    // Walk forward through the moments something stops counting: entry expiries (in order) and
    // the two phantom expiries, merged.
    long firstPhantom = Math.min(phantom.requestsUntilNanos(), phantom.tokensUntilNanos());
    long secondPhantom = Math.max(phantom.requestsUntilNanos(), phantom.tokensUntilNanos());
    int k = 0;
    while (true) {
      long nextEntry = k < size ? expiries[index(headSeq + k)] : Long.MAX_VALUE;
      long nextPhantom =
          firstPhantom > nowNanos
              ? firstPhantom
              : secondPhantom > nowNanos ? secondPhantom : Long.MAX_VALUE;
      long t = Math.min(nextEntry, nextPhantom);
      if (t == Long.MAX_VALUE) {
        return nowNanos; // nothing left that could block: only reachable with a cost above limit
      }
      while (k < size && expiries[index(headSeq + k)] == t) {
        int i = index(headSeq + k);
        req -= requests[i];
        tok -= tokens[i];
        k++;
      }
      if (fits(req, tok, t, tokenCost, rpm, tpm, phantom)) {
        return t;
      }
      nowNanos = t;
    }
  }

  private static boolean fits(
      long req, long tok, long at, long tokenCost, long rpm, long tpm, Phantom phantom) {
    return req + phantom.requestsAt(at) + 1 <= rpm && tok + phantom.tokensAt(at) + tokenCost <= tpm;
  }

  private int index(long seq) {
    return (int) (seq & (expiries.length - 1));
  }

  private void grow() {
    int capacity = expiries.length * 2;
    long[] newExpiries = new long[capacity];
    long[] newTokens = new long[capacity];
    byte[] newRequests = new byte[capacity];
    for (int k = 0; k < size; k++) {
      int from = index(headSeq + k);
      int to = (int) ((headSeq + k) & (capacity - 1));
      newExpiries[to] = expiries[from];
      newTokens[to] = tokens[from];
      newRequests[to] = requests[from];
    }
    expiries = newExpiries;
    tokens = newTokens;
    requests = newRequests;
  }

  /**
   * Use that the upstream reported and Penstock cannot account for (another client of the same key,
   * a count that differs from the estimate), each part valid until its own expiry.
   */
  record Phantom(long requests, long requestsUntilNanos, long tokens, long tokensUntilNanos) {
    static final Phantom NONE = new Phantom(0, Long.MIN_VALUE, 0, Long.MIN_VALUE);

    long requestsAt(long at) {
      return at < requestsUntilNanos ? requests : 0;
    }

    long tokensAt(long at) {
      return at < tokensUntilNanos ? tokens : 0;
    }

    long lastExpiryNanos() {
      return Math.max(requestsUntilNanos, tokensUntilNanos);
    }
  }
}
