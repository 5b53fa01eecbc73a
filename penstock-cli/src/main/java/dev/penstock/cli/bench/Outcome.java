package dev.penstock.cli.bench;

import java.util.Comparator;

/**
 * How one request ended, as counted in the summary: {@code 2xx}, the exact status for any other
 * answer ({@code 429}, {@code 500}, ...), or a failure that has no status.
 *
 * <p>The labels are stable: they are the keys of {@code status_counts} in the JSON output.
 *
 * @param label the summary key, e.g. {@code 2xx}, {@code 429}, {@code stream_error}
 * @param kind which series of the throughput chart the outcome belongs to
 */
public record Outcome(String label, Kind kind) {

  /** The three series of the throughput chart. */
  public enum Kind {
    OK,
    RATE_LIMITED,
    ERROR
  }

  public static final Outcome OK = new Outcome("2xx", Kind.OK);

  /** No answer: refused, reset, DNS, TLS, or the connect timeout. */
  public static final Outcome CONNECTION_ERROR = new Outcome("connection_error", Kind.ERROR);

  /** No complete answer within {@code --timeout} of sending. */
  public static final Outcome TIMEOUT = new Outcome("timeout", Kind.ERROR);

  /**
   * A 2xx stream that did not end properly: cut before {@code data: [DONE]} (or, for the Responses
   * API, before its final event), or carrying an error event.
   */
  public static final Outcome STREAM_ERROR = new Outcome("stream_error", Kind.ERROR);

  /** A 2xx whose body is not the JSON it should be, or is cut short. */
  public static final Outcome BAD_BODY = new Outcome("bad_body", Kind.ERROR);

  /** Open loop: due while {@code --max-inflight} requests were already outstanding; not sent. */
  public static final Outcome DROPPED = new Outcome("dropped", Kind.ERROR);

  /** Bench itself failed to build or send the request: a bug, reported rather than lost. */
  public static final Outcome CLIENT_ERROR = new Outcome("client_error", Kind.ERROR);

  /** Orders labels as reports list them: 2xx, then statuses ascending, then failures. */
  public static final Comparator<String> LABEL_ORDER =
      Comparator.comparingInt(Outcome::rank).thenComparing(Comparator.naturalOrder());

  /** The outcome of an answer with HTTP status {@code status}. */
  public static Outcome ofStatus(int status) {
    if (status >= 200 && status < 300) {
      return OK;
    }
    return new Outcome(Integer.toString(status), status == 429 ? Kind.RATE_LIMITED : Kind.ERROR);
  }

  private static int rank(String label) {
    if (label.equals(OK.label)) {
      return 0;
    }
    return label.chars().allMatch(Character::isDigit) ? 1 : 2;
  }
}
