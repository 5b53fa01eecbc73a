package dev.penstock.server.pipeline;

import dev.penstock.core.time.Ticker;
import dev.penstock.server.telemetry.RequestRecord;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;

/**
 * A {@link ClientExchange} that notes in the request's record when the answer's first byte went
 * out, and with what status (the client's time to first token), and tracks since when a write to
 * the client has been blocked, for the {@link ClientWatch}.
 */
final class ObservedExchange extends ForwardingExchange {
  private static final long NOT_WRITING = -1;

  private final RequestRecord record;
  private final Ticker ticker;
  private volatile long writingSince = NOT_WRITING;

  ObservedExchange(ClientExchange delegate, RequestRecord record, Ticker ticker) {
    super(delegate);
    this.record = record;
    this.ticker = ticker;
  }

  @Override
  public void send(int status, Map<String, String> headers, byte[] body) {
    record.answered(status, ticker.nanos());
    writingSince = ticker.nanos();
    try {
      delegate.send(status, headers, body);
    } finally {
      writingSince = NOT_WRITING;
    }
  }

  @Override
  public OutputStream stream(int status, Map<String, String> headers) throws IOException {
    record.answered(status, ticker.nanos());
    writingSince = ticker.nanos();
    OutputStream out;
    try {
      out = delegate.stream(status, headers);
    } finally {
      writingSince = NOT_WRITING;
    }
    return new FilterOutputStream(out) {
      @Override
      public void write(byte[] bytes, int offset, int length) throws IOException {
        writingSince = ticker.nanos();
        try {
          out.write(bytes, offset, length);
        } finally {
          writingSince = NOT_WRITING;
        }
      }

      @Override
      public void flush() throws IOException {
        writingSince = ticker.nanos();
        try {
          out.flush();
        } finally {
          writingSince = NOT_WRITING;
        }
      }
    };
  }

  @Override
  public long writeBlockedSinceNanos() {
    return writingSince;
  }
}
