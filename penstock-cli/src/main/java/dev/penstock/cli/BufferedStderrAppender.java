package dev.penstock.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;

/**
 * Writes log lines to the process's standard error through a 64 KB buffer, behind {@link
 * BatchingAsyncAppender}, which flushes it at the end of each batch it takes off its queue (see
 * {@code logback.xml}).
 *
 * <p>Why not Logback's {@code ConsoleAppender}: it writes through {@link System#err}, a {@link
 * java.io.PrintStream} that flushes after every write, so every access-log line cost a {@code
 * write} system call — 6% of the gateway's CPU at 16,000 requests/s on one core (async-profiler).
 * Here a burst of lines leaves in one call, and a lone line still leaves at once: the batch it ends
 * is flushed.
 *
 * <p>Stopping flushes and leaves the descriptor open (it is the process's standard error).
 */
public final class BufferedStderrAppender extends OutputStreamAppender<ILoggingEvent> {
  private static final int BUFFER_BYTES = 64 * 1024;

  @Override
  public void start() {
    setImmediateFlush(false);
    setOutputStream(
        new BufferedOutputStream(new FileOutputStream(FileDescriptor.err), BUFFER_BYTES));
    super.start();
  }

  @Override
  protected void closeOutputStream() {
    var out = getOutputStream();
    if (out == null) {
      return;
    }
    try {
      out.flush();
    } catch (IOException e) {
      addError("could not flush standard error", e);
    }
  }
}
